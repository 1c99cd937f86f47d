import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/env.ts';
import type { Db } from '../db/client.ts';
import type { SecretBox } from '../platform/crypto/secret-box.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { LoginService } from '../platform/teammates/service.ts';
import type { AppRuntime } from '../platform/apps/runtime.ts';
import { ConversationService } from '../platform/conversations/service.ts';
import type { Access, Principal } from './access.ts';
import { authenticate } from './authenticate.ts';
import { LiveBus } from './live-bus.ts';
import {
  OUTBOUND_SEND_QUEUE,
  outboundSendGivenUp,
  outboundSendHandler,
} from '../platform/outbound/service.ts';
import { segmentSource } from '../platform/search/service.ts';
import type { RouteCatalogEntry } from './route.ts';

/** Everything a route handler or worker may use; built once at start-up and passed down, never global. */
export interface Platform {
  config: Config;
  db: Db;
  box: SecretBox;
  log: Logger;
  bus: LiveBus;
  login: LoginService;
  conversations: ConversationService;
  jobs: JobQueue;
  apps: AppRuntime;
  routeCatalog: RouteCatalogEntry[];
  authenticate(req: FastifyRequest, access: readonly Access[]): Promise<Principal>;
}

export function createPlatform(deps: {
  config: Config;
  db: Db;
  box: SecretBox;
  log: Logger;
  jobs: JobQueue;
  apps: AppRuntime;
}): Platform {
  const bus = new LiveBus();
  const platform: Platform = {
    ...deps,
    bus,
    login: new LoginService(deps.db),
    conversations: new ConversationService(deps.db, bus),
    routeCatalog: [],
    authenticate: (req, access) => authenticate(deps.db, req, access),
  };
  deps.apps.attach({
    // Read when used: a test server learns its port after the platform exists.
    get publicUrl() {
      return deps.config.publicUrl;
    },
    db: deps.db,
    box: deps.box,
    jobs: deps.jobs,
    log: deps.log,
    conversations: platform.conversations,
  });
  deps.jobs.register(OUTBOUND_SEND_QUEUE, outboundSendHandler(deps.db, segmentSource), {
    onDead: outboundSendGivenUp(deps.db),
  });
  return platform;
}
