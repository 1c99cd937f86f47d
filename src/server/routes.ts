import { jobRoutes } from '../jobs/routes.ts';
import { appRoutes } from '../platform/apps/routes.ts';
import { attributeRoutes } from '../platform/attributes/routes.ts';
import { contactRoutes } from '../platform/contacts/routes.ts';
import { conversationRoutes } from '../platform/conversations/routes.ts';
import { eventRoutes } from '../platform/events/routes.ts';
import { messengerRoutes } from '../platform/messenger/routes.ts';
import { tagRoutes } from '../platform/tags/routes.ts';
import { searchRoutes } from '../platform/search/routes.ts';
import { outboundRoutes } from '../platform/outbound/routes.ts';
import { teammateRoutes } from '../platform/teammates/routes.ts';
import { workspaceRoutes } from '../platform/workspaces/routes.ts';
import type { AnyRoute } from './route.ts';

/** Every HTTP route of the platform, in one list: what the authorization and fuzz tests walk. */
export const allRoutes: AnyRoute[] = [
  ...workspaceRoutes,
  ...teammateRoutes,
  ...attributeRoutes,
  ...searchRoutes,
  ...contactRoutes,
  ...tagRoutes,
  ...eventRoutes,
  ...conversationRoutes,
  ...messengerRoutes,
  ...outboundRoutes,
  ...appRoutes,
  ...jobRoutes,
];
