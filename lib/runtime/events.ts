/** The events port on EventBridge (`EVENT_BUS_NAME`), built once per execution environment; its own module so only functions that publish carry the client. */
import { eventBridgeClient } from '../aws/clients/eventbridge';
import { EventBridgePublisher } from '../aws/eventbridge';
import { eventBusName } from '../jobs/config';
import { once } from '../memo';

export const eventPublisher = once(() => new EventBridgePublisher(eventBridgeClient(), eventBusName()));
