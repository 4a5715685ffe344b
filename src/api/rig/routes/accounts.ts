import type { FastifyPluginAsync } from 'fastify';
import { RigCode, RigError, success } from '../envelope.js';
import { fromDomainError } from '../errors.js';
import type { RigContext } from '../context.js';
import { requests } from '../requests.js';
import { rigRoute } from '../route-list.js';
import { responses } from '../schemas.js';
import { readBody } from '../validation.js';

/**
 * `/accounts`: sign-up, local login, password change, invites. Each reads its body as rig's
 * handler does, after the token where the route needs one, and before anything else.
 */
export const accountRoutes: FastifyPluginAsync<{ rig: RigContext }> = async (app, { rig }) => {
  const { core, tokens } = rig;

  app.post('/', rigRoute('Create new user account', { schema: { response: responses.account } }), async (request) => {
    const { Username, Email, Password } = readBody(request.body, requests.userCreate);
    const account = await core.accounts.create({ username: Username, password: Password, email: Email }, undefined, { address: request.ip }).catch((err) =>
      fromDomainError(err, {
        // rig says no more than this, whichever of the two is taken.
        conflict: () => new RigError(RigCode.CreateFailed, 'Cannot create user account.'),
        throttled: RigCode.CreateFailed,
      }),
    );
    return success('User created', { userID: account.id, username: account.username, email: account.email ?? Email });
  });

  app.post('/password', rigRoute('Update user password', { schema: { response: responses.password } }), async (request) => {
    const user = await rig.authenticate(request);
    const { OldPassword, NewPassword } = readBody(request.body, requests.userPassword);
    const account = await core.accounts.changePassword(user.accountId, OldPassword, NewPassword, request.ip).catch((err) =>
      fromDomainError(err, {
        authentication: new RigError(RigCode.UpdateFailed, 'Cannot update user password'),
        notFound: new RigError(RigCode.InvalidCredentials),
        throttled: RigCode.UpdateFailed,
      }),
    );
    return success('User password changed', { username: account.username });
  });

  app.post(
    '/auth/local',
    rigRoute('Authenticate using username and password', { schema: { response: responses.auth } }),
    async (request) => {
      const { Username, Password } = readBody(request.body, requests.userAuth);
      const account = await core.accounts.authenticate(Username, Password, { address: request.ip }).catch((err) => fromDomainError(err, {}));
      const token = await tokens.issueUserToken(account.id, account.username, account.credentialVersion);
      return success('Authentication successful', { username: account.username, token });
    },
  );

  app.post('/invite', rigRoute('Create an invite for a new user account', { schema: { response: responses.invite } }), async (request) => {
    const user = await rig.authenticate(request);
    const { Email } = readBody(request.body, requests.userInvite);
    // rig looks the invited email up among usernames (its GetUserByEmail queries the username
    // column), so that is what "already registered" means here.
    if (await core.accounts.findByUsername(Email)) throw new RigError(RigCode.CreateFailed, 'Email is already registered');
    const token = await tokens.issueInviteToken(user.accountId, Email);
    return success('Invite created', { email: Email, token });
  });

  app.post(
    '/invite/verify',
    rigRoute('Verify an invite using email and invite token', { schema: { response: responses.inviteVerified } }),
    async (request) => {
      const { Email, InviteToken } = readBody(request.body, requests.userInviteVerify);
      const invited = await tokens.verifyInviteToken(InviteToken);
      if (invited === undefined || invited !== Email) {
        throw new RigError(RigCode.InvalidInput, 'Error verifying invite token');
      }
      return success('Invite verified.', { email: invited });
    },
  );
};
