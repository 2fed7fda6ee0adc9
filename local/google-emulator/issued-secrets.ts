/**
 * Every secret value the emulator handed out (codes, tokens, service-account keys), so
 * tests can assert none of them leaks into logs or storage. The request log never
 * holds these; only this ledger does.
 */
export class IssuedSecrets {
  private readonly values: string[] = [];

  add(value: string): string {
    this.values.push(value);
    return value;
  }

  list(): string[] {
    return [...this.values];
  }
}
