/** POST /drive/notifications: Google's Drive push notifications (headers only, empty body). */
import { httpHandler, jsonResponse } from '../../lib/http';
import { notificationFromHeaders } from '../../lib/jobs/drive-notifications';
import { driveNotificationsFunction } from '../../lib/runtime/drive-notifications';

driveNotificationsFunction.prepare();

export const handler = httpHandler(async (request) => {
  const receiver = await driveNotificationsFunction.service();
  await receiver.receive(notificationFromHeaders(request.headers));
  // The same answer whatever became of it: a sender learns nothing about channels.
  return jsonResponse(200, { received: true });
});
