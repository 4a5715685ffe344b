import { randomBytes } from 'node:crypto';
import { checkEmail, checkPassword, USERNAME_LENGTH } from '../../accounts/accounts.js';
import type { ApiClient, TokenHolder } from './oauth-clients.js';
import { emit, type CoreContext } from '../../kernel/context.js';
import { AuthenticationError, ConflictError, NotFoundError, ValidationError, type FieldErrors } from '../../kernel/errors.js';
import { isUuid, newId, secretsEqual, type AccountId } from '../../kernel/ids.js';
import { decoyHash, hashPassword, verifyPassword } from '../../accounts/passwords.js';
import { LoginThrottle } from '../../accounts/login-throttle.js';
import { isUniqueViolation } from '../../../store/database.js';
import type { AccountRow } from '../../../store/repositories/accounts.js';

/**
 * The users of an API client (Kickflip's users of an app): accounts whose tenant is the
 * client's id, invisible to every other client. Each has a `uuid`, the credential its device
 * starts streams with (a secret, like a stream key, never shown to other users), and may have
 * no password at all: the Android SDK registers users without sending one. A password change is
 * a change of every credential: the uuid is replaced (the answer to user/change carries the new
 * one, which the Android SDK stores) and the access tokens of other devices stop acting for the user.
 */
export interface TenantUser {
  id: AccountId;
  username: string;
  email: string | null;
  displayName: string | null;
  /** The client's own data about the user, kept as the string it sent (Kickflip clients send JSON). */
  extraInfo: string | null;
  avatarUrl: string | null;
  uuid: string;
  hasPassword: boolean;
  /** Raised by every password change (see Account.credentialVersion). */
  credentialVersion: number;
  createdAt: string;
}

export interface NewTenantUser {
  username?: string | undefined;
  password?: string | undefined;
  email?: string | undefined;
  displayName?: string | undefined;
  extraInfo?: string | undefined;
}

export interface TenantUserChanges {
  email?: string | undefined;
  displayName?: string | undefined;
  extraInfo?: string | undefined;
  newPassword?: string | undefined;
}

/** How a request names its user: any of these may be missing. */
export interface UserClaim {
  uuid?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** The client's address, which a password attempt counts against. */
  address?: string | undefined;
}

/** Usernames end up in upload paths (`<app>/<username>/<stream_id>/`), so only path-safe characters. */
const USERNAME_SHAPE = /^[A-Za-z0-9._@+-]+$/;
export const DISPLAY_NAME_MAX = 128;
export const EXTRA_INFO_MAX = 16384;
const RANDOM_NAME_ATTEMPTS = 5;

export function checkTenantUsername(username: string, errors: FieldErrors): void {
  if (username.length < USERNAME_LENGTH.min || username.length > USERNAME_LENGTH.max) {
    errors.username = `must be ${USERNAME_LENGTH.min} to ${USERNAME_LENGTH.max} characters`;
  } else if (!USERNAME_SHAPE.test(username) || username === '..' || username === '.') {
    errors.username = 'may contain only letters, digits and . _ @ + -';
  }
}

function checkProfile(input: { displayName?: string | undefined; extraInfo?: string | undefined; email?: string | undefined }, errors: FieldErrors): void {
  if (input.email !== undefined) checkEmail(input.email, errors);
  if (input.displayName !== undefined && [...input.displayName].length > DISPLAY_NAME_MAX) errors.display_name = `must be at most ${DISPLAY_NAME_MAX} characters`;
  if (input.extraInfo !== undefined && input.extraInfo.length > EXTRA_INFO_MAX) errors.extra_info = `must be at most ${EXTRA_INFO_MAX} characters`;
}

function toUser(row: AccountRow): TenantUser {
  return {
    id: row.id as AccountId,
    username: row.username,
    email: row.email,
    displayName: row.display_name,
    extraInfo: row.extra_info,
    avatarUrl: row.avatar_url,
    uuid: row.device_uuid ?? '',
    hasPassword: row.password_hash !== null,
    credentialVersion: Number(row.credential_version),
    createdAt: row.created_at,
  };
}

/** `<app>-` and 6 random characters of [a-z0-9], as kickflip.io named its generated users. */
function randomUsername(app: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const suffix = [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('');
  return `${app.slice(0, USERNAME_LENGTH.max - 7)}-${suffix}`;
}

export class TenantUserService {
  constructor(
    private readonly ctx: CoreContext,
    /** The platform's rule against password guessing, applied to the client's users as well. */
    private readonly throttle: LoginThrottle = new LoginThrottle(ctx),
  ) {}

  /** A new user of the token's client (without a username one is made up); the token then acts for it. */
  async create(holder: TokenHolder, input: NewTenantUser): Promise<TenantUser> {
    return this.actFor(holder, await this.make(holder.client, input));
  }

  private async make(client: ApiClient, input: NewTenantUser): Promise<TenantUser> {
    const errors: FieldErrors = {};
    if (input.username !== undefined) checkTenantUsername(input.username, errors);
    if (input.password !== undefined) checkPassword(input.password, errors);
    checkProfile(input, errors);
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid user details', errors);

    const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
    for (let attempt = 1; ; attempt++) {
      const username = input.username ?? randomUsername(client.app);
      const now = this.ctx.now();
      const row: AccountRow = {
        id: newId<'AccountId'>(),
        tenant: client.id,
        username,
        email: input.email ?? null,
        email_key: input.email === undefined ? null : input.email.toLowerCase(),
        password_hash: passwordHash,
        is_admin: 0,
        is_active: 1,
        external_id: null,
        display_name: input.displayName ?? null,
        extra_info: input.extraInfo ?? null,
        avatar_url: null,
        device_uuid: newId<'DeviceUuid'>(),
        credential_version: 0,
        created_at: now,
        updated_at: now,
      };
      try {
        await this.ctx.store.transaction(async (tx) => {
          const taken: FieldErrors = {};
          if (await tx.accounts.findByUsername(client.id, username)) taken.username = 'is already taken';
          if (row.email_key !== null && (await tx.accounts.findByEmailKey(client.id, row.email_key))) taken.email = 'is already registered';
          if (Object.keys(taken).length > 0) throw new ConflictError('User already exists', taken);
          await tx.accounts.insert(row);
        });
      } catch (err) {
        const conflict = err instanceof ConflictError || isUniqueViolation(err);
        // A made-up name that happens to be taken: make up another.
        if (conflict && input.username === undefined && attempt < RANDOM_NAME_ATTEMPTS && !(err instanceof ConflictError && err.fields.email)) continue;
        if (err instanceof ConflictError) throw err;
        if (isUniqueViolation(err)) throw new ConflictError('User already exists');
        throw err;
      }
      await emit(this.ctx, { type: 'account.created', accountId: row.id as AccountId });
      return toUser(row);
    }
  }

  /**
   * The client's user with this username and password; the same error for every mismatch, and
   * ThrottledError, without trying the password, while too many attempts must wait.
   */
  async login(client: ApiClient, username: string, password: string, address?: string): Promise<TenantUser> {
    const attempt = await this.throttle.admit({ tenant: client.id, username, address });
    const row = await this.ctx.store.accounts.findByUsername(client.id, username);
    const ok = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
    if (!row || !ok || row.is_active !== 1) throw new AuthenticationError('Invalid username or password');
    await attempt.succeeded();
    return toUser(row);
  }

  /** The client's user whose uuid this is. */
  async byUuid(client: ApiClient, uuid: string): Promise<TenantUser | undefined> {
    if (!isUuid(uuid)) return undefined;
    const row = await this.ctx.store.tenantUsers.findByDeviceUuid(client.id, uuid.toLowerCase());
    // The index found the row; the constant-time comparison is what accepts the credential.
    if (!row || row.is_active !== 1 || !secretsEqual(row.device_uuid ?? '', uuid.toLowerCase())) return undefined;
    return toUser(row);
  }

  async byUsername(client: ApiClient, username: string): Promise<TenantUser | undefined> {
    const row = await this.ctx.store.accounts.findByUsername(client.id, username);
    return row && row.is_active === 1 ? toUser(row) : undefined;
  }

  async byId(client: ApiClient, id: AccountId): Promise<TenantUser | undefined> {
    const row = await this.ctx.store.accounts.findById(id);
    return row && row.tenant === client.id && row.is_active === 1 ? toUser(row) : undefined;
  }

  /**
   * The user a request means. A uuid names its user (it is that user's credential). Otherwise
   * the user this access token created or logged in (`boundUser`) is meant when the request
   * names no other username: the Android SDK's user/change carries no identity at all, and the
   * token proves the request comes from the device that made the user. Otherwise a username
   * and its password. A user of another client is never found. The token then acts for the user.
   */
  async identify(holder: TokenHolder, claim: UserClaim): Promise<TenantUser> {
    return this.actFor(holder, await this.whoIs(holder.client, claim, holder.boundUser));
  }

  /** The viewer of a public read: the user the request means when it names one (see identify), else anonymous. */
  async viewer(holder: TokenHolder, claim: UserClaim): Promise<TenantUser | undefined> {
    const named = claim.uuid !== undefined || (claim.username !== undefined && claim.password !== undefined);
    if (!named && holder.boundUser === null) return undefined;
    return this.identify(holder, claim);
  }

  private async whoIs(client: ApiClient, claim: UserClaim, boundUser: AccountId | null): Promise<TenantUser> {
    if (claim.uuid !== undefined) {
      const user = await this.byUuid(client, claim.uuid);
      if (!user || (claim.username !== undefined && claim.username !== user.username)) throw new AuthenticationError('Unknown user uuid');
      return user;
    }
    if (boundUser !== null) {
      const bound = await this.byId(client, boundUser);
      if (bound && (claim.username === undefined || claim.username === bound.username)) return bound;
    }
    if (claim.username !== undefined && claim.password !== undefined) return this.login(client, claim.username, claim.password, claim.address);
    throw new AuthenticationError('Name the user: uuid, or username and password');
  }

  /**
   * Logs a user in by username and password. The user this token created is also let in by
   * name alone: the Android SDK keeps a password it made up and never sent, so its own user
   * could not log in otherwise; no other device can use that path.
   */
  async loginFromDevice(holder: TokenHolder, username: string, password: string, address?: string): Promise<TenantUser> {
    return this.actFor(holder, await this.deviceLogin(holder.client, username, password, holder.boundUser, address));
  }

  /** The token acts for `user` from now on: the user it created or logged in last. */
  private async actFor(holder: TokenHolder, user: TenantUser): Promise<TenantUser> {
    if (holder.boundUser !== user.id) await this.ctx.store.oauthTokens.bindAccount(holder.tokenDigest, user.id, user.credentialVersion);
    return user;
  }

  private async deviceLogin(client: ApiClient, username: string, password: string, boundUser: AccountId | null, address: string | undefined): Promise<TenantUser> {
    if (boundUser !== null) {
      const bound = await this.byId(client, boundUser);
      if (bound && bound.username === username && !bound.hasPassword) return bound;
    }
    return this.login(client, username, password, address);
  }

  /**
   * Changes the profile; nothing changes when any value is invalid. A new password also gives the
   * user a new uuid and ends what the old credentials held: only the token that made the change
   * still acts for the user.
   */
  async change(holder: TokenHolder, user: TenantUser, changes: TenantUserChanges): Promise<TenantUser> {
    const { client } = holder;
    const errors: FieldErrors = {};
    checkProfile(changes, errors);
    if (changes.newPassword !== undefined) checkPassword(changes.newPassword, errors, 'new_password');
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid user details', errors);
    const passwordHash = changes.newPassword === undefined ? undefined : await hashPassword(changes.newPassword);
    const emailKey = changes.email === undefined ? undefined : changes.email.toLowerCase();
    try {
      await this.ctx.store.transaction(async (tx) => {
        const row = await tx.accounts.findById(user.id);
        if (!row || row.tenant !== client.id) throw new NotFoundError('No such user');
        if (emailKey !== undefined && emailKey !== row.email_key) {
          const other = await tx.accounts.findByEmailKey(client.id, emailKey);
          if (other && other.id !== row.id) throw new ConflictError('Email already registered', { email: 'is already registered' });
        }
        await tx.tenantUsers.updateProfile(
          row.id,
          {
            ...(changes.email !== undefined ? { email: changes.email, email_key: emailKey } : {}),
            ...(changes.displayName !== undefined ? { display_name: changes.displayName } : {}),
            ...(changes.extraInfo !== undefined ? { extra_info: changes.extraInfo } : {}),
            ...(passwordHash !== undefined ? { device_uuid: newId<'DeviceUuid'>() } : {}),
          },
          this.ctx.now(),
        );
        if (passwordHash !== undefined) await tx.accounts.updatePassword(row.id, passwordHash, this.ctx.now());
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('Email already registered', { email: 'is already registered' });
      throw err;
    }
    // Whoever keeps what the account was (a cache of accounts) forgets it.
    await emit(this.ctx, { type: 'account.updated', accountId: user.id });
    const updated = await this.byId(client, user.id);
    if (!updated) throw new NotFoundError('No such user');
    if (passwordHash !== undefined) await this.ctx.store.oauthTokens.bindAccount(holder.tokenDigest, updated.id, updated.credentialVersion);
    return updated;
  }
}
