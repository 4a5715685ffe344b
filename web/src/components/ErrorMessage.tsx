/** A failure in words, where it happened; read out when it appears. */
export function ErrorMessage({ message, id }: { message: string | null | undefined; id?: string }) {
  if (!message) return null;
  return (
    <p class="error" role="alert" id={id}>
      {message}
    </p>
  );
}
