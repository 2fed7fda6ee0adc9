/**
 * Direct Invoke (IAM-authorized, no public route): an access token for one of the company's
 * own jobs. Event `{ userId, scopes?, minValiditySeconds? }`; answer `{ accessToken,
 * expiresAt, scopes }` or `{ error, message, reason? }` (see DESIGN.md).
 */
import { lambdaHandler } from '../../lib/lambda';
import { describeError, logger } from '../../lib/log';
import { tokenFunction } from '../../lib/runtime/token';
import { tokenError, type TokenAnswer } from '../../lib/token-vault';

tokenFunction.prepare();

export const handler = lambdaHandler(async (event: unknown, context): Promise<TokenAnswer> => {
  let vault;
  try {
    vault = await tokenFunction.service();
  } catch (error) {
    // The client secret could not be loaded: answered like any other failure, never thrown
    // (a thrown error's message and stack would go back to the caller).
    logger.error('token function not ready', { error: describeError(error) });
    return tokenError(error);
  }
  return vault.answer(event, context?.awsRequestId);
});
