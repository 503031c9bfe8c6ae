import { useEffect } from 'react';
import { AuthProvider, type Session, useAuth } from './auth.tsx';
import { Spinner } from './components/ui.tsx';
import { LiveProvider, useLive } from './live.tsx';
import { AlertsPage } from './pages/alerts.tsx';
import { CameraPage } from './pages/camera.tsx';
import { CameraFormPage } from './pages/camera-form.tsx';
import { CamerasPage } from './pages/cameras.tsx';
import { DevicesPage } from './pages/devices.tsx';
import { LoginPage } from './pages/login.tsx';
import { RuleEditorPage } from './pages/rule-editor.tsx';
import { RulesPage } from './pages/rules.tsx';
import { navigate, type Route, useRoute } from './router.ts';

export function App() {
  return (
    <AuthProvider>
      <Shell />
    </AuthProvider>
  );
}

function Shell() {
  const { session } = useAuth();
  const route = useRoute();

  useEffect(() => {
    if (session === null && route.name !== 'login') navigate('/login');
    if (session && route.name === 'login') navigate('/cameras');
  }, [session, route.name]);

  if (session === undefined) return <Spinner />;
  if (session === null) return <LoginPage />;
  return (
    <LiveProvider token={session.token}>
      <Header session={session} route={route} />
      <Page route={route} />
    </LiveProvider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case 'cameras':
    case 'login':
      return <CamerasPage />;
    case 'camera':
      return <CameraPage key={route.id} id={route.id} />;
    case 'cameraForm':
      return <CameraFormPage key={route.id ?? 'new'} id={route.id} />;
    case 'alerts':
      return <AlertsPage />;
    case 'rules':
      return <RulesPage />;
    case 'devices':
      return <DevicesPage />;
    case 'rule':
      return <RuleEditorPage key={route.id ?? 'new'} id={route.id} />;
    default:
      return (
        <main className="page">
          <h1>Not found</h1>
          <p>
            <a href="#/cameras">Go to the cameras</a>
          </p>
        </main>
      );
  }
}

function Header({ session, route }: { session: Session; route: Route }) {
  const { logout } = useAuth();
  const { newAlerts, connected } = useLive();
  const camerasActive = route.name === 'cameras' || route.name === 'camera' || route.name === 'cameraForm';
  return (
    <header className="app-header">
      <a href="#/cameras" className="brand">
        <span className="logo" aria-hidden="true">
          ◆
        </span>{' '}
        Iceberg
      </a>
      <nav aria-label="Main">
        <a href="#/cameras" aria-current={camerasActive ? 'page' : undefined}>
          Cameras
        </a>
        <a href="#/alerts" aria-current={route.name === 'alerts' ? 'page' : undefined}>
          Alerts{' '}
          <span
            className={`count${newAlerts > 0 ? ' has-new' : ''}`}
            data-testid="new-alerts-badge"
            data-count={newAlerts}
          >
            {newAlerts}
          </span>
          <span className="sr-only">new</span>
        </a>
        <a href="#/rules" aria-current={route.name === 'rules' || route.name === 'rule' ? 'page' : undefined}>
          Rules
        </a>
        <a href="#/devices" aria-current={route.name === 'devices' ? 'page' : undefined}>
          Devices
        </a>
      </nav>
      <div className="who">
        <span
          className={`live-dot${connected ? ' on' : ''}`}
          title={connected ? 'Live' : 'Reconnecting…'}
          aria-hidden="true"
        />
        <span className="sr-only">{connected ? 'Live updates on' : 'Live updates reconnecting'}</span>
        <span className="org" data-testid="organisation-name">
          {session.organisation.name}
        </span>
        <span className="role" data-testid="user-role">
          {session.role}
        </span>
        <button type="button" className="ghost" onClick={() => void logout()}>
          Log out
        </button>
      </div>
    </header>
  );
}
