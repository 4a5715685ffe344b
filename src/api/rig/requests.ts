import { requestStruct } from './validation.js';

/**
 * rig's request structs, field for field and rule for rule as its Go source declares them
 * (`rest/account_handler.go`, `rest/stream_handler.go`). The email of a new account is only
 * length-checked, and an invite's email only needs to be there.
 */
export const requests = {
  userCreate: requestStruct({ Username: 'min=3,max=64', Email: 'min=3,max=64', Password: 'min=8' }),
  userAuth: requestStruct({ Username: 'nonzero', Password: 'nonzero,min=8' }),
  userPassword: requestStruct({ OldPassword: 'min=8', NewPassword: 'min=8' }),
  userInvite: requestStruct({ Email: 'nonzero' }),
  userInviteVerify: requestStruct({ Email: 'nonzero', InviteToken: 'nonzero' }),
  streamAddDestination: requestStruct({ Service: 'nonzero', StreamKey: 'nonzero' }),
};
