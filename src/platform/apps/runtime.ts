import type { z } from 'zod';
import type { AppHost, AppManifest, CardView } from '../../app-sdk/index.ts';
import { createAttribute } from '../attributes/service.ts';
import { contactRepository } from '../contacts/repository.ts';
import { appError } from './errors.ts';
import { commonError } from '../../shared/errors.ts';
import { validationError } from '../../server/route.ts';
import { createHost, jobQueueName, type HostDeps } from './host.ts';
import { EndpointDirectory } from './endpoints.ts';
import { InstallationCache } from './installations.ts';
import { AttributeDefinitionCache } from '../attributes/definition-cache.ts';
import { installationRepository, removeAppAttributes, secretRepository } from './repository.ts';
import { recordRepository } from './record-repository.ts';
import { ensureAttributeIndexes } from '../search/repository.ts';

export type AppRegistry = Readonly<Record<string, AppManifest<z.ZodType>>>;

export const UNINSTALL_QUEUE = 'platform:app-uninstall';

/** Runs the registered apps: install state, settings, secrets, jobs, cards. The registry is handed in at start-up. */
export class AppRuntime {
  private deps: HostDeps | undefined;

  constructor(readonly registry: AppRegistry) {}

  /** Called once the platform exists (the runtime and the platform need each other). */
  attach(deps: Omit<HostDeps, 'endpoints' | 'installations' | 'definitions'>): void {
    // Object.assign, not a spread: deps' getters (publicUrl) must stay live.
    const installations = new InstallationCache(deps.db);
    this.deps = Object.assign(deps, {
      endpoints: new EndpointDirectory(deps.db),
      installations,
      definitions: new AttributeDefinitionCache(deps.db),
    });
    for (const manifest of Object.values(this.registry)) {
      for (const [name, handler] of Object.entries(manifest.jobs)) {
        // Work for an app that was uninstalled meanwhile is dropped.
        const installed = async (workspaceId: string) =>
          (await installations.get(workspaceId, manifest.id))?.status === 'installed';
        const batch = manifest.batches?.[name];
        deps.jobs.register(
          jobQueueName(manifest.id, name),
          async (ctx) => {
            if (!(await installed(ctx.workspaceId))) return;
            await handler(this.host(ctx.workspaceId, manifest.id), ctx.payload, {
              attempt: ctx.attempt,
              lastAttempt: ctx.lastAttempt,
              signal: ctx.signal,
              rerun: ctx.rerun,
            });
          },
          batch && {
            batch: {
              max: batch.max,
              // The worker batches one workspace's jobs only.
              run: async (ctxs) => {
                const first = ctxs[0];
                if (!first || !(await installed(first.workspaceId))) return ctxs.map(() => undefined);
                return batch.run(
                  this.host(first.workspaceId, manifest.id),
                  ctxs.map((c) => c.payload),
                  { signal: first.signal, reruns: ctxs.map((c) => c.rerun) },
                );
              },
            },
          },
        );
      }
    }
    deps.jobs.register(UNINSTALL_QUEUE, async (ctx) => {
      const { appId, keepData } = ctx.payload as { appId: string; keepData: boolean };
      const manifest = this.manifest(appId);
      await manifest.onUninstall?.(this.host(ctx.workspaceId, appId), { keepData });
      await secretRepository.deleteAll(deps.db, ctx.workspaceId, appId);
      if (!keepData) {
        await removeAppAttributes(deps.db, ctx.workspaceId, appId);
        this.deps?.definitions.forget(ctx.workspaceId);
        await recordRepository.purge(deps.db, ctx.workspaceId, appId);
      }
      await installationRepository.setStatus(deps.db, ctx.workspaceId, appId, 'uninstalled');
      installations.forget(ctx.workspaceId, appId);
    });
  }

  /** A teammate archived or deleted an attribute: apps' writes in this process read the definitions afresh. */
  forgetDefinitions(workspaceId: string): void {
    this.deps?.definitions.forget(workspaceId);
  }

  /** Webhook endpoint ids → workspace and app (cached; endpoints.ts). */
  get endpoints(): EndpointDirectory {
    return this.d.endpoints;
  }

  private get d(): HostDeps {
    if (!this.deps) throw new Error('AppRuntime used before attach()');
    return this.deps;
  }

  manifest(appId: string): AppManifest {
    const m = this.registry[appId];
    if (!m) throw appError('app_not_found', `no app ${appId}`, 'id');
    return m;
  }

  host(workspaceId: string, appId: string): AppHost {
    return createHost(this.d, this.manifest(appId), workspaceId);
  }

  async list(workspaceId: string) {
    const installs = new Map(
      (await installationRepository.list(this.d.db, workspaceId)).map((i) => [i.app_id, i]),
    );
    return Object.values(this.registry).map((m) => ({
      id: m.id,
      name: m.name,
      description: m.description,
      status: installs.get(m.id)?.status ?? 'not_installed',
    }));
  }

  async isInstalled(workspaceId: string, appId: string): Promise<boolean> {
    return (await installationRepository.get(this.d.db, workspaceId, appId))?.status === 'installed';
  }

  parseSettings(appId: string, settings: unknown): unknown {
    const parsed = this.manifest(appId).settings.safeParse(settings ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // An unknown setting is reported on the object that holds it; name the setting itself.
      const extra = issue?.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [];
      const path = ['settings', ...(issue?.path ?? []), ...extra].map(String).join('.');
      throw appError('invalid_settings', `${path}: ${issue?.message ?? 'invalid'}`, path);
    }
    return parsed.data;
  }

  async install(workspaceId: string, appId: string, settings: unknown): Promise<void> {
    const manifest = this.manifest(appId);
    const parsed = this.parseSettings(appId, settings);
    await this.d.db.transaction(async (tx) => {
      await installationRepository.upsert(tx, workspaceId, appId, parsed);
      this.d.installations.forget(workspaceId, appId);
      for (const a of manifest.attributes) {
        await createAttribute(
          tx,
          workspaceId,
          { name: a.name, type: a.type, label: a.label, description: a.description },
          appId,
        );
      }
    });
    this.d.installations.forget(workspaceId, appId);
    for (const a of manifest.attributes) {
      await ensureAttributeIndexes(this.d.db, workspaceId, a.name, a.type);
    }
    await manifest.onInstall?.(this.host(workspaceId, appId));
  }

  /** Uninstalling is a job, so it finishes later if an outside service (Stripe) is unreachable now. */
  async uninstall(workspaceId: string, appId: string, keepData: boolean): Promise<void> {
    this.manifest(appId);
    if (!(await this.isInstalled(workspaceId, appId)))
      throw appError('app_not_installed', `${appId} is not installed`, 'id');
    await this.d.db.transaction(async (tx) => {
      await installationRepository.setStatus(tx, workspaceId, appId, 'uninstalling');
      await this.d.jobs.enqueue({ workspaceId, queue: UNINSTALL_QUEUE, payload: { appId, keepData } }, tx);
    });
    this.d.installations.forget(workspaceId, appId);
  }

  async settingsView(workspaceId: string, appId: string) {
    const manifest = this.manifest(appId);
    const inst = await installationRepository.get(this.d.db, workspaceId, appId);
    const set = new Set(await secretRepository.names(this.d.db, workspaceId, appId));
    return {
      app_id: appId,
      status: inst?.status ?? 'not_installed',
      settings: inst?.settings ?? null,
      // Secrets are write-only: the API says whether one is set, never what it is.
      secrets: manifest.secrets.map((name) => ({ name, set: set.has(name) })),
    };
  }

  async updateSettings(workspaceId: string, appId: string, settings: unknown): Promise<void> {
    if (!(await this.isInstalled(workspaceId, appId)))
      throw appError('app_not_installed', `${appId} is not installed`, 'id');
    const manifest = this.manifest(appId);
    const after = this.parseSettings(appId, settings);
    const before = (await installationRepository.get(this.d.db, workspaceId, appId))?.settings;
    await installationRepository.setSettings(this.d.db, workspaceId, appId, after);
    this.d.installations.forget(workspaceId, appId);
    const previous = manifest.settings.safeParse(before ?? {});
    await manifest.onSettingsChange?.(this.host(workspaceId, appId), {
      before: previous.success ? previous.data : before,
      after,
    });
  }

  async setSecret(workspaceId: string, appId: string, name: string, value: string): Promise<void> {
    if (!(await this.isInstalled(workspaceId, appId)))
      throw appError('app_not_installed', `${appId} is not installed`, 'id');
    await this.host(workspaceId, appId).setSecret(name, value);
  }

  /** The sidebar cards of every installed app for one contact; a failing card shows its error, not a broken page. */
  async sidebarCards(workspaceId: string, contactId: string) {
    const row = await contactRepository.get(this.d.db, workspaceId, contactId);
    if (!row) return [];
    const out: { app_id: string; card_id: string; view: CardView | null; error: string | null }[] = [];
    for (const manifest of Object.values(this.registry)) {
      if (!(await this.isInstalled(workspaceId, manifest.id))) continue;
      const host = this.host(workspaceId, manifest.id);
      const contact = (await host.contacts.get(contactId))!;
      for (const card of manifest.cards.sidebar) {
        try {
          out.push({
            app_id: manifest.id,
            card_id: card.id,
            view: await card.load(host, contact),
            error: null,
          });
        } catch (err) {
          this.d.log.warn({ err, app: manifest.id, card: card.id }, 'sidebar card failed');
          out.push({
            app_id: manifest.id,
            card_id: card.id,
            view: null,
            error: `${card.title} could not load; try refreshing`,
          });
        }
      }
    }
    return out;
  }

  /** Runs an app action after checking the caller's role and the action's input schema. */
  async runAction(
    workspaceId: string,
    appId: string,
    name: string,
    isAdmin: boolean,
    input: unknown,
  ): Promise<unknown> {
    const action = this.manifest(appId).actions?.[name];
    if (!action) throw appError('action_not_found', `${appId} has no action ${name}`, 'action');
    if (action.access === 'admin' && !isAdmin)
      throw commonError('forbidden', `only admins may run ${appId} ${name}`);
    if (!(await this.isInstalled(workspaceId, appId)))
      throw appError('app_not_installed', `${appId} is not installed`, 'id');
    const parsed = action.input.safeParse(input ?? {});
    if (!parsed.success) throw validationError(parsed.error, 'body');
    return action.run(this.host(workspaceId, appId), parsed.data);
  }

  async loadView(workspaceId: string, appId: string, name: string, isAdmin: boolean): Promise<unknown> {
    const view = this.manifest(appId).views?.[name];
    if (!view) throw appError('action_not_found', `${appId} has no view ${name}`, 'view');
    if (view.access === 'admin' && !isAdmin)
      throw commonError('forbidden', `only admins may see ${appId} ${name}`);
    if (!(await this.isInstalled(workspaceId, appId)))
      throw appError('app_not_installed', `${appId} is not installed`, 'id');
    return view.load(this.host(workspaceId, appId));
  }

  async runCardAction(
    workspaceId: string,
    appId: string,
    cardId: string,
    action: string,
    contactId: string,
    input: unknown,
  ) {
    const manifest = this.manifest(appId);
    if (!(await this.isInstalled(workspaceId, appId)))
      throw appError('app_not_installed', `${appId} is not installed`, 'id');
    const card = manifest.cards.sidebar.find((c) => c.id === cardId);
    if (!card) throw appError('card_not_found', `${appId} has no card ${cardId}`, 'card');
    const fn = card.actions?.[action];
    if (!fn) throw appError('action_not_found', `card ${cardId} has no action ${action}`, 'action');
    const host = this.host(workspaceId, appId);
    const contact = await host.contacts.get(contactId);
    if (!contact) throw appError('card_not_found', `no contact ${contactId}`, 'contact_id');
    return fn(host, contact, input);
  }
}
