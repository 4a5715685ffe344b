import { sql, type Kysely } from 'kysely';

/** The public numbers that counted up, and the first value the StreamAPI counter had. */
const RETIRED = ['ms_stream', 'public_host_id'] as const;
const FIRST_PUBLIC_HOST_ID = 1_000_000_000;
const MAX_INT32 = 2_147_483_647;

/**
 * Multistreamer stream ids and made-up StreamAPI public host ids are drawn at random from now on
 * (a counter told every user how many streams the server holds): their counters are retired.
 * Existing rows keep the ids they were given, so saved ids and URLs keep working. Undone, the
 * counters come back past the largest id in use, so that they do not hand out a random one again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`delete from id_sequences where name in (${sql.join(RETIRED)})`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const streams = await sql<{ top: number | string | null }>`select max(number) as top from ms_streams`.execute(db);
  const hosts = await sql<{ id: string }>`select public_host_id as id from streams where public_host_id is not null`.execute(db);
  const counted = hosts.rows.map((r) => r.id).filter((id) => /^\d{10}$/.test(id) && Number(id) <= MAX_INT32).map(Number);
  const values: Record<(typeof RETIRED)[number], number> = {
    ms_stream: Number(streams.rows[0]?.top ?? 0),
    public_host_id: Math.max(FIRST_PUBLIC_HOST_ID, ...counted),
  };
  for (const name of RETIRED) await sql`insert into id_sequences (name, value) values (${name}, ${values[name]})`.execute(db);
}
