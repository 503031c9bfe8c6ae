import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import * as client from './api/client.ts';

export interface Session {
  token: string;
  user: client.MeResponse['user'];
  organisation: client.MeResponse['organisation'];
  role: client.MeResponse['role'];
}

interface AuthValue {
  /** undefined while the stored token is being checked */
  session: Session | null | undefined;
  login(email: string, password: string): Promise<void>;
  logout(): Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null | undefined>(() =>
    client.getToken() ? undefined : null,
  );

  const clear = useCallback(() => {
    client.setToken(null);
    setSession(null);
  }, []);

  useEffect(() => {
    client.setUnauthorizedHandler(clear);
    return () => client.setUnauthorizedHandler(null);
  }, [clear]);

  useEffect(() => {
    const token = client.getToken();
    if (!token) return;
    let cancelled = false;
    client
      .me()
      .then((m) => {
        if (!cancelled) setSession({ token, user: m.user, organisation: m.organisation, role: m.role });
      })
      .catch(() => {
        if (!cancelled) clear();
      });
    return () => {
      cancelled = true;
    };
  }, [clear]);

  const login = useCallback(async (email: string, password: string) => {
    const r = await client.login(email, password);
    client.setToken(r.token);
    setSession({ token: r.token, user: r.user, organisation: r.organisation, role: r.user.role });
  }, []);

  const logout = useCallback(async () => {
    try {
      await client.logout();
    } catch {
      // the token is forgotten locally either way
    }
    clear();
  }, [clear]);

  const value = useMemo(() => ({ session, login, logout }), [session, login, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}
