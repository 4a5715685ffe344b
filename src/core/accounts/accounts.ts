import { ConflictError, AuthenticationError, NotFoundError, ValidationError, type FieldErrors } from '../kernel/errors.js';
import { ChangeCache } from '../kernel/change-cache.js';
import { emit, type CoreContext } from '../kernel/context.js';
import { newId, isUuid, type AccountId } from '../kernel/ids.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { LoginThrottle } from './login-throttle.js';
import { isCommonPassword } from './common-passwords.js';
import { isUniqueViolation } from '../../store/database.js';
import type { AccountRow } from '../../store/repositories/accounts.js';

/** A person who can log in and own streams. */
export interface Account {
  id: AccountId;
  username: string;
  email: string | null;
  isActive: boolean;
  /**
   * Raised by every password change. A token that acts for the account records the version it
   * was issued under and is refused once the version has moved on: old credentials die with a
   * password change.
   */
  credentialVersion: number;
  /** Sees and changes every account's objects in the live API. */
  isAdmin: boolean;
  createdAt: string;
}

/** The platform's own accounts; users of an API client (a Kickflip app, a StreamAPI site) get its id. */
export const PLATFORM_TENANT = '';

export const USERNAME_LENGTH = { min: 3, max: 64 } as const;
export const EMAIL_LENGTH = { min: 3, max: 64 } as const;
/** The upper bound keeps the KDF's work per request bounded. */
export const PASSWORD_LENGTH = { min: 8, max: 1024 } as const;

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;
// Printable characters only: a username shows up in URLs, logs and chat.
const CONTROL_OR_SPACE = /[\s\p{Cc}\p{Cf}]/u;

function lengthBetween(value: string, range: { min: number; max: number }): boolean {
  const length = [...value].length;
  return length >= range.min && length <= range.max;
}

export function checkUsername(username: string, errors: FieldErrors): void {
  if (!lengthBetween(username, USERNAME_LENGTH)) {
    errors.username = `must be ${USERNAME_LENGTH.min} to ${USERNAME_LENGTH.max} characters`;
  } else if (CONTROL_OR_SPACE.test(username)) {
    errors.username = 'must not contain spaces or control characters';
  }
}

/**
 * The email of a platform account, as rig's sign-up takes it: 3 to 64 characters and nothing
 * more (rig's clients send whatever the user typed; nothing here mails it).
 */
export function checkAccountEmail(email: string, errors: FieldErrors): void {
  if (!lengthBetween(email, EMAIL_LENGTH)) {
    errors.email = `must be ${EMAIL_LENGTH.min} to ${EMAIL_LENGTH.max} characters`;
  }
}

/** An email that must also look like an address. */
export function checkEmail(email: string, errors: FieldErrors): void {
  checkAccountEmail(email, errors);
  if (errors.email === undefined && !EMAIL_SHAPE.test(email)) errors.email = 'must be an email address';
}

/**
 * A new password (sign-up, change): of the allowed length, and not one of the few that guessers
 * try first. Never asks more than the length every dialect documents, so a password a dialect's
 * client may choose is refused only for being that guessable.
 */
export function checkPassword(password: string, errors: FieldErrors, field = 'password'): void {
  if (!lengthBetween(password, PASSWORD_LENGTH)) {
    errors[field] = `must be ${PASSWORD_LENGTH.min} to ${PASSWORD_LENGTH.max} characters`;
  } else if (isCommonPassword(password)) {
    errors[field] = 'is one of the most common passwords: choose one that is harder to guess';
  }
}

function emailKey(email: string): string {
  return email.toLowerCase();
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id as AccountId,
    username: row.username,
    email: row.email,
    isActive: row.is_active === 1,
    credentialVersion: Number(row.credential_version),
    isAdmin: row.is_admin === 1,
    createdAt: row.created_at,
  };
}

export interface NewAccount {
  username: string;
  password: string;
  /** Optional for accounts made by an operator; rig's sign-up always has one. */
  email?: string | null;
  /** Sees every account's objects in the live API (an operator's `user create --admin`). */
  admin?: boolean;
}

/** Where a password is tried: the tenant whose account is meant, and the client's address. */
export interface LoginContext {
  tenant?: string;
  address?: string | undefined;
}

/** Accounts kept by id: those that make requests now (a token is checked against its account on every request). */
const ACCOUNT_CACHE_ENTRIES = 10_000;
/** The longest an account is trusted without a look at the database (see ChangeCache). */
const ACCOUNT_CACHE_MAX_AGE_MS = 5_000;

export class AccountService {
  /**
   * Accounts by id, for the checks every authenticated request makes. A change of an account
   * (`account.updated`: a password or a name), any other relevant event, and any write of
   * another process empty it (ChangeCache).
   */
  private readonly known: ChangeCache<string, Account>;

  constructor(
    private readonly ctx: CoreContext,
    /** Every password tried here counts against its account name and address (ThrottledError when they must wait). */
    private readonly throttle: LoginThrottle = new LoginThrottle(ctx),
  ) {
    this.known = new ChangeCache(ctx, { maxEntries: ACCOUNT_CACHE_ENTRIES, maxAgeMs: ACCOUNT_CACHE_MAX_AGE_MS });
  }

  /**
   * A new account. A sign-up from a client (`from.address`: rig's open sign-up) counts against
   * that address's sign-ups first (ThrottledError when it must wait); an operator's does not.
   */
  async create(input: NewAccount, tenant: string = PLATFORM_TENANT, from: { address?: string | undefined } = {}): Promise<Account> {
    const errors: FieldErrors = {};
    checkUsername(input.username, errors);
    const email = input.email ?? null;
    if (email !== null) checkAccountEmail(email, errors);
    checkPassword(input.password, errors);
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid account details', errors);
    if (from.address !== undefined) await this.throttle.admitSignUp(from.address);

    const passwordHash = await hashPassword(input.password);
    const now = this.ctx.now();
    const id = newId<'AccountId'>();
    try {
      await this.ctx.store.transaction(async (tx) => {
        const taken: FieldErrors = {};
        if (await tx.accounts.findByUsername(tenant, input.username)) taken.username = 'is already taken';
        if (email !== null && (await tx.accounts.findByEmailKey(tenant, emailKey(email)))) taken.email = 'is already registered';
        if (Object.keys(taken).length > 0) throw new ConflictError('Account already exists', taken);
        await tx.accounts.insert({
          id,
          tenant,
          username: input.username,
          email,
          email_key: email === null ? null : emailKey(email),
          password_hash: passwordHash,
          is_active: 1,
          is_admin: input.admin ? 1 : 0,
          credential_version: 0,
          created_at: now,
          updated_at: now,
        });
      });
    } catch (err) {
      // Two requests for the same name can both pass the check; the unique index stops the second.
      if (isUniqueViolation(err)) throw new ConflictError('Account already exists');
      throw err;
    }
    await emit(this.ctx, { type: 'account.created', accountId: id });
    return { id, username: input.username, email, isActive: true, credentialVersion: 0, isAdmin: input.admin === true, createdAt: now };
  }

  /**
   * The account whose username and password these are; the same error for an unknown name and a
   * wrong password, and ThrottledError, without trying the password, while too many attempts on
   * the name or from the address must wait.
   */
  async authenticate(username: string, password: string, where: LoginContext = {}): Promise<Account> {
    const tenant = where.tenant ?? PLATFORM_TENANT;
    const attempt = await this.throttle.admit({ tenant, username, address: where.address });
    const row = await this.ctx.store.accounts.findByUsername(tenant, username);
    const ok = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
    if (!row || !ok) throw new AuthenticationError('Invalid credentials');
    await attempt.succeeded();
    return toAccount(row);
  }

  /**
   * Changes the password. The credential version moves on, so every token issued before (the
   * caller's own included) stops working: the user logs in again with the new password.
   */
  async changePassword(id: AccountId, oldPassword: string, newPassword: string, address?: string): Promise<Account> {
    const errors: FieldErrors = {};
    checkPassword(newPassword, errors, 'newPassword');
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid password', errors);
    const row = await this.ctx.store.accounts.findById(id);
    if (!row) throw new NotFoundError('No such account');
    // The old password is a password tried like any other: a stolen token must not become a way to guess it.
    const attempt = await this.throttle.admit({ tenant: row.tenant, username: row.username, address });
    if (!(await verifyPassword(oldPassword, row.password_hash))) throw new AuthenticationError('Invalid credentials');
    await attempt.succeeded();
    await this.ctx.store.accounts.updatePassword(id, await hashPassword(newPassword), this.ctx.now());
    // This node forgets the old account before answering; the event tells the other nodes.
    this.known.clear();
    await emit(this.ctx, { type: 'account.updated', accountId: id });
    return toAccount({ ...row, credential_version: Number(row.credential_version) + 1 });
  }

  async get(id: string): Promise<Account | undefined> {
    if (!isUuid(id)) return undefined;
    const known = this.known.get(id);
    if (known !== undefined) return known;
    const ticket = this.known.ticket();
    const row = await this.ctx.store.accounts.findById(id);
    if (!row) return undefined;
    // Shared by every caller the cache answers: frozen, so none can change another's.
    const account = Object.freeze(toAccount(row));
    this.known.set(id, account, ticket);
    return account;
  }

  /**
   * The account a token issued under `credentialVersion` acts for: undefined when the account is
   * gone or its password has changed since the token was issued.
   */
  async forToken(id: string, credentialVersion: number): Promise<Account | undefined> {
    const account = await this.get(id);
    return account && account.credentialVersion === credentialVersion ? account : undefined;
  }

  /** The account with exactly this username. */
  async findByUsername(username: string, tenant: string = PLATFORM_TENANT): Promise<Account | undefined> {
    const row = await this.ctx.store.accounts.findByUsername(tenant, username);
    return row ? toAccount(row) : undefined;
  }

  async list(tenant: string = PLATFORM_TENANT): Promise<Account[]> {
    return (await this.ctx.store.accounts.list(tenant)).map(toAccount);
  }
}
