import type { FastifyPluginAsync } from 'fastify';
import { checkEmail } from '../../../core/accounts/accounts.js';
import type { FieldErrors } from '../../../core/kernel/errors.js';
import { RigCode, RigError, success } from '../envelope.js';
import { fromDomainError } from '../errors.js';
import type { RigContext } from '../context.js';
import { bodies, responses } from '../schemas.js';

interface Credentials {
  username: string;
  password: string;
}

/** `/accounts`: sign-up, local login, password change, invites. */
export const accountRoutes: FastifyPluginAsync<{ rig: RigContext }> = async (app, { rig }) => {
  const { core, tokens } = rig;

  app.post<{ Body: Credentials & { email: string } }>(
    '/',
    { schema: { body: bodies.createAccount, response: responses.account } },
    async (request) => {
      const { username, password, email } = request.body;
      const account = await core.accounts.create({ username, password, email }).catch((err) =>
        fromDomainError(err, {
          conflict: (e) => new RigError(RigCode.CreateFailed, 'Cannot create user account.', Object.keys(e.fields).length ? e.fields : undefined),
        }),
      );
      return success('User created', { userID: account.id, username: account.username, email: account.email ?? email });
    },
  );

  app.post<{ Body: Credentials }>(
    '/auth/local',
    { schema: { body: bodies.authLocal, response: responses.auth } },
    async (request) => {
      const account = await core.accounts
        .authenticate(request.body.username, request.body.password, { address: request.ip })
        .catch((err) => fromDomainError(err, {}));
      const token = await tokens.issueUserToken(account.id, account.username, account.credentialVersion);
      return success('Authentication successful', { username: account.username, token });
    },
  );

  app.post<{ Body: { oldPassword: string; newPassword: string } }>(
    '/password',
    { schema: { body: bodies.changePassword, response: responses.password } },
    async (request) => {
      const user = await rig.authenticate(request);
      const account = await core.accounts
        .changePassword(user.accountId, request.body.oldPassword, request.body.newPassword, request.ip)
        .catch((err) =>
          fromDomainError(err, {
            authentication: new RigError(RigCode.UpdateFailed, 'Cannot update user password'),
            notFound: new RigError(RigCode.InvalidCredentials),
            throttled: RigCode.UpdateFailed,
          }),
        );
      return success('User password changed', { username: account.username });
    },
  );

  app.post<{ Body: { email: string } }>(
    '/invite',
    { schema: { body: bodies.invite, response: responses.invite } },
    async (request) => {
      const user = await rig.authenticate(request);
      const { email } = request.body;
      const problems: FieldErrors = {};
      checkEmail(email, problems);
      if (Object.keys(problems).length > 0) throw new RigError(RigCode.InvalidInput, undefined, problems);
      if (await core.accounts.findByEmail(email)) throw new RigError(RigCode.CreateFailed, 'Email is already registered');
      const token = await tokens.issueInviteToken(user.accountId, email);
      return success('Invite created', { email, token });
    },
  );

  app.post<{ Body: { email: string; inviteToken: string } }>(
    '/invite/verify',
    { schema: { body: bodies.verifyInvite, response: responses.inviteVerified } },
    async (request) => {
      const invited = await tokens.verifyInviteToken(request.body.inviteToken);
      if (invited === undefined || invited !== request.body.email) {
        throw new RigError(RigCode.InvalidInput, 'Error verifying invite token');
      }
      return success('Invite verified.', { email: invited });
    },
  );
};
