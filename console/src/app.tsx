import type { ComponentType } from 'preact';
import * as auth from './auth/index';
import { AbExperimentsPage } from './pages/ab-experiments';
import { ComparePage } from './pages/compare';
import { DeploymentsPage } from './pages/deployments';
import { ExperimentsPage } from './pages/experiments';
import { FeaturesPage } from './pages/features';
import { ModelsPage } from './pages/models';
import { MonitoringPage } from './pages/monitoring';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { type Route, useRoute } from './router';

const NAV: [string, string][] = [
  ['#/experiments', 'Experiments & runs'],
  ['#/models', 'Model registry'],
  ['#/deployments', 'Deployments'],
  ['#/ab', 'A/B & shadow'],
  ['#/monitoring', 'Monitoring'],
  ['#/features', 'Feature registry'],
];

// The sign-in module owns #/sign-in (it redirects there on missing or expired credentials).
const SignIn = (auth as unknown as { SignInPage?: ComponentType }).SignInPage;

function page(route: Route) {
  const [first, second] = route.parts;
  switch (first) {
    case undefined:
    case 'experiments':
      return second ? <RunsPage experimentId={second} query={route.query} /> : <ExperimentsPage />;
    case 'runs':
      return second ? <RunPage runId={second} /> : <ExperimentsPage />;
    case 'compare':
      return <ComparePage runIds={(route.query.get('runs') ?? '').split(',').filter(Boolean)} />;
    case 'models':
      return <ModelsPage name={second} />;
    case 'deployments':
      return <DeploymentsPage model={second} />;
    case 'ab':
      return <AbExperimentsPage model={route.query.get('model') ?? undefined} id={second} />;
    case 'monitoring':
      return <MonitoringPage model={second} />;
    case 'features':
      return <FeaturesPage />;
    case 'sign-in':
      return SignIn ? <SignIn /> : <p>Sign-in is not configured: this console calls the API directly.</p>;
    default:
      return <p class="error">No page at {route.path}</p>;
  }
}

export function App() {
  const route = useRoute();
  // Runs and comparisons belong to the experiments section.
  const first = route.parts[0] ?? 'experiments';
  const active = `#/${first === 'runs' || first === 'compare' ? 'experiments' : first}`;
  return (
    <>
      <header>
        <a class="brand" href="#/experiments">
          serverless-mlops
        </a>
        <nav>
          {NAV.map(([to, label]) => (
            <a href={to} key={to} class={active === to ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      <main>{page(route)}</main>
    </>
  );
}
