/** POSTs a form body; resolves with the status and text, rejects on network failure or timeout. */
export function postForm(url: string, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return post(url, body, { 'content-type': 'application/x-www-form-urlencoded' }, timeoutMs);
}

/** POSTs a body; resolves with the status and text, rejects on network failure or timeout. */
export async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = (await response.text()).slice(0, 65536);
  return { status: response.status, text };
}
