import type { FastifyInstance } from 'fastify';
import { ACCOUNT_NOT_USABLE, ACCOUNT_NOT_VISIBLE } from '../../../core/dialects/multistreamer/network-accounts.js';
import { accountChanges, accountCreation } from '../bodies.js';
import { badRequest } from '../errors.js';
import { idParam, type MsContext } from '../context.js';
import { accountJson } from '../present.js';

/** Network accounts: list, one, create (an extension: the original linked them through OAuth), update, delete or leave. */
export function accountRoutes(app: FastifyInstance, { core, caller }: MsContext): void {
  app.get('/account', async (request) => ({ accounts: (await core.networkAccounts.list(caller(request))).map(accountJson) }));

  app.get('/account/:id', async (request) => {
    const account = await core.networkAccounts.get(caller(request), idParam(request, ACCOUNT_NOT_VISIBLE));
    if (!account) throw badRequest(ACCOUNT_NOT_VISIBLE);
    return { account: accountJson(account) };
  });

  app.post('/account', async (request) => {
    const account = await core.networkAccounts.create(caller(request), accountCreation(request.body));
    return { account: accountJson(account) };
  });

  app.post('/account/:id', async (request) => {
    const id = idParam(request, ACCOUNT_NOT_USABLE);
    const changes = accountChanges(request.body);
    return { account: accountJson(await core.networkAccounts.update(caller(request), id, changes)) };
  });

  app.delete('/account/:id', async (request) => {
    await core.networkAccounts.remove(caller(request), idParam(request, ACCOUNT_NOT_USABLE));
    return { status: 'success' };
  });
}
