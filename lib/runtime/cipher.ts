/** The refresh-token cipher under KMS. Only functions that decrypt are handed a KMS key (risc and the dispatcher are not). */
import { kmsClient } from '../aws/clients/kms';
import { kmsCipher } from '../aws/kms-data-keys';
import { requireEnv } from '../config';
import { once } from '../memo';

export const tokenCipher = once(() => kmsCipher(kmsClient(), requireEnv('KMS_KEY_ID')));
