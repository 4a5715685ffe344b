import type { IncomingMessage } from 'node:http';

/**
 * Virtual-hosted-style S3 addressing: the Kickflip SDKs always write to
 * `https://<bucket>.s3.amazonaws.com/<key>` (a deployment points that name at streamdelta), so
 * a request whose Host is `<bucket>.<anything>` is routed as the path-style
 * `<mount>/<bucket>/<key>`. The rewrite happens before routing, so rig, which may own the root
 * path, never sees these requests; the S3 plugin still checks the signature against the path the
 * client signed (Fastify keeps it as `originalUrl`).
 *
 * The server's own host name (from the public URL) is never taken for a bucket host, even when
 * it happens to begin with the bucket's name (`streamdelta.example.com`).
 */
export function virtualHostRewrite(options: { bucket: string; mount: string; publicUrl: string }): (req: IncomingMessage) => string | undefined {
  const own = new URL(options.publicUrl).hostname.toLowerCase();
  const start = `${options.bucket}.`;
  return (req) => {
    const host = hostName(req.headers.host);
    if (host === undefined || host === own || !host.startsWith(start) || host.length === start.length) return undefined;
    const url = req.url ?? '/';
    return `${options.mount}/${options.bucket}${url.startsWith('/') ? url : `/${url}`}`;
  };
}

/** The host name of a Host header, lower-case, without its port. */
function hostName(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
  return name.toLowerCase();
}
