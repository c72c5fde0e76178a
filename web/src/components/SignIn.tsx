import { type FormEvent, useState } from "react";
import { useStore } from "../store";

export function SignIn() {
  const [token, setToken] = useState("");
  const message = useStore((s) => s.authMessage);
  const signInWithToken = useStore((s) => s.signInWithToken);

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void signInWithToken(token);
  };

  return (
    <main className="signin" data-testid="signin">
      <h1>Sign in to decnet</h1>
      <p>
        Open the one-time link that <code>decnet serve</code> printed when it started (<code>…/#login=…</code>), or
        paste a token made with <code>decnet token create NAME --role admin</code> (or <code>viewer</code>).
      </p>
      <form onSubmit={submit}>
        <label>
          Token
          <input
            type="password"
            autoComplete="off"
            placeholder="dnt_…"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            data-testid="token-input"
          />
        </label>
        <button type="submit" data-testid="token-submit">
          Sign in
        </button>
      </form>
      {message && (
        <p className="auth-message" role="alert" data-testid="auth-message">
          {message}
        </p>
      )}
    </main>
  );
}
