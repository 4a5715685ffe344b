/**
 * Passwords that guessers try first: the most frequent ones of the published leaked-password
 * rankings that are long enough to pass the length rule (shorter ones are refused anyway), and
 * their obvious variants. Kept small and in the program: refusing these few stops the cheapest
 * guesses without a network lookup or a big dictionary. Compared ignoring case.
 */
const COMMON = [
  '00000000', '11111111', '12121212', '12341234', '123123123', '12344321', '12345678', '123456789',
  '1234567890', '1234567891', '12345678910', '123456789a', '123456789q', '1234qwer', '1q2w3e4r',
  '1q2w3e4r5t', '1q2w3e4r5t6y', '1qaz2wsx', '1qaz2wsx3edc', '11223344', '22222222', '55555555',
  '66666666', '77777777', '87654321', '88888888', '98765432', '987654321', '99999999', 'a1234567',
  'a12345678', 'aa123456', 'aaaaaaaa', 'abc12345', 'abc123456', 'abcd1234', 'abcdefgh', 'access14',
  'admin123', 'administrator', 'asdf1234', 'asdfasdf', 'asdfghjk', 'asdfghjkl', 'babygirl', 'baseball',
  'basketball', 'batman123', 'bigdaddy', 'butterfly', 'changeme', 'charlie1', 'chocolate', 'computer',
  'corvette', 'daniel123', 'danielle', 'dragon123', 'football', 'football1', 'freedom1',
  'hello123', 'hello1234', 'helloworld', 'iloveyou', 'iloveyou1', 'iloveyou2', 'jennifer',
  'jordan23', 'letmein1', 'letmein123', 'liverpool', 'login123', 'lovelove', 'master123', 'michelle',
  'monkey123', 'mustang1', 'nicole123', 'p@ssw0rd', 'p@ssword', 'passw0rd', 'password', 'password!',
  'password0', 'password1', 'password12', 'password123', 'password1234', 'password2', 'princess',
  'princess1', 'q1w2e3r4', 'q1w2e3r4t5', 'q1w2e3r4t5y6', 'qazwsxedc', 'qwe123qwe', 'qweasdzxc',
  'qwer1234', 'qwert123', 'qwerty12', 'qwerty123', 'qwerty1234', 'qwertyui', 'qwertyuiop', 'samantha',
  'secret123', 'shadow123', 'starwars', 'sunshine', 'sunshine1', 'superman', 'trustno1', 'welcome1',
  'welcome123', 'whatever', 'zaq12wsx', 'zxcvbnm1', 'zxcvbnm123', 'zxcvbnmm',
];

const COMMON_SET = new Set(COMMON);

/** Whether a password is one of the few that guessers try first. */
export function isCommonPassword(password: string): boolean {
  return COMMON_SET.has(password.normalize('NFKC').toLowerCase());
}
