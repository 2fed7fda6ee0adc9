/** The EventBridgeClient, created once per execution environment (its own module, so a bundle carries only the clients its function uses). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CLIENT_DEFAULTS } from './defaults';

let client: EventBridgeClient | undefined;

export const eventBridgeClient = (): EventBridgeClient => (client ??= new EventBridgeClient(CLIENT_DEFAULTS));
