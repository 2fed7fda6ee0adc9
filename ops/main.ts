/**
 * The operator CLI: `npm run ops -- <command>` (also the package's `bin`).
 *
 *   users list [--status S] [--reason R] [--limit N] [--cursor C]
 *   users show <userId>
 *   users refresh <userId>
 *   users disconnect <userId> [--yes]
 *   stats
 *
 * Options everywhere: --json, --stack <name> [--region R]. Exit codes: 0 done, 1 failed or
 * declined, 2 usage or configuration, 3 no such user. Never prints a token, code or secret.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

// Before any module of the product loads: the functions' logs and metrics are not the CLI's output.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// stdout is the CLI's alone (--json must parse): whatever else writes there — the product's
// logs when an operator raises POWERTOOLS_LOG_LEVEL — goes to stderr.
const cliStdout = { write: process.stdout.write.bind(process.stdout) };
process.stdout.write = process.stderr.write.bind(process.stderr);

const HELP = `Usage: npm run ops -- <command> [options]

Commands:
  users list [--status S] [--reason R] [--limit N] [--cursor C]
                              one page of users (status: active, needs_reconnect, disconnected)
  users show <userId>         one user's record (never the token)
  users refresh <userId>      run the refresh worker for this user now and show the outcome
  users disconnect <userId>   revoke at Google and destroy the stored token, as /disconnect does
                              (asks first; --yes skips the question)
  stats                       users by status and reason; what the latest refreshes recorded

Options:
  --json                      machine-readable output on stdout
  --stack <name>              a deployed stack, found through its CloudFormation outputs
  --region <region>           the stack's region (default: AWS_REGION)
  -y, --yes                   do not ask for confirmation
  -h, --help                  this text

Without --stack: the environment (TABLE_NAME, KMS_KEY_ID, ... as the functions read them),
else the running \`npm start\` stack.`;

async function main(argv: string[]): Promise<void> {
  const { UsageError } = await import('./target');
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    cliStdout.write(`${HELP}\n`);
    return;
  }
  const [group, action, subject, ...extra] = positionals;
  const command = group === 'users' ? `users ${action ?? ''}` : (group ?? '');
  const known = ['users list', 'users show', 'users refresh', 'users disconnect', 'stats'];
  if (!known.includes(command)) throw new UsageError(`Unknown command "${positionals.join(' ')}"\n\n${HELP}`);
  const needsUser = ['users show', 'users refresh', 'users disconnect'].includes(command);
  if (needsUser && !subject) throw new UsageError(`${command} needs a user ID`);
  const surplus = command === 'stats' ? positionals.slice(1) : needsUser ? extra : positionals.slice(2);
  if (surplus.length) throw new UsageError(`Unexpected arguments: ${surplus.join(' ')}`);

  const { output } = await import('./output');
  const { resolveTarget } = await import('./target');
  const out = output(values.json === true, { stdout: cliStdout, stderr: process.stderr });
  const target = await resolveTarget({
    ...(values.stack ? { stack: values.stack } : {}),
    ...(values.region ? { region: values.region } : {}),
  });
  out.note(`Target: ${target.description}`);

  const commands = await import('./commands');
  switch (command) {
    case 'users list': {
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new UsageError('--limit must be an integer from 1 to 1000');
      return commands.listUsers(out, {
        limit,
        ...(values.status ? { status: values.status } : {}),
        ...(values.reason ? { reason: values.reason } : {}),
        ...(values.cursor ? { cursor: values.cursor } : {}),
      });
    }
    case 'users show':
      return commands.showUser(out, subject!);
    case 'users refresh':
      return commands.refreshUser(out, subject!);
    case 'users disconnect':
      return commands.disconnectUser(out, subject!, (question) =>
        values.yes ? Promise.resolve(true) : confirm(question),
      );
    case 'stats':
      return commands.stats(out);
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean' },
      stack: { type: 'string' },
      region: { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      status: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** Asks on the terminal (stderr); an answer other than y/yes, or no answer at all, is a no. */
function confirm(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    let answered = false;
    prompt.on('close', () => {
      if (!answered) resolve(false);
    });
    prompt.question(`${question} [y/N] `, (answer) => {
      answered = true;
      prompt.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    });
  });
}

async function reportFailure(error: unknown): Promise<void> {
  const { UsageError, explainAwsError } = await import('./target');
  const { redactText } = await import('../lib/redact');
  if (error instanceof UsageError || (error as { name?: string }).name === 'ConfigError') {
    process.stderr.write(`${redactText((error as Error).message)}\n`);
    process.exitCode = 2;
    return;
  }
  const explained = explainAwsError(error);
  const text = explained ?? `${(error as Error).name ?? 'Error'}: ${(error as Error).message ?? String(error)}`;
  process.stderr.write(`${redactText(text)}\n`);
  process.exitCode = 1;
}

main(process.argv.slice(2))
  .catch(reportFailure)
  .catch(() => {
    process.exitCode = 1;
  })
  // SDK clients keep sockets alive: end when the work is done, with the exit code set above.
  .finally(() => process.exit());
