/** POST /risc: Google Cross-Account Protection pushes security event tokens here. */
import { httpHandler } from '../../lib/http';
import { acceptedResponse, readSecurityEventToken } from '../../lib/risc';
import { riscFunction } from '../../lib/runtime/risc';

riscFunction.prepare();

export const handler = httpHandler(async (request) => {
  await (await riscFunction.service()).receive(readSecurityEventToken(request));
  return acceptedResponse();
});
