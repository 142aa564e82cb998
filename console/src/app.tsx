import type { ComponentType } from 'preact';
import { useLayoutEffect, useState } from 'preact/hooks';
import * as auth from './auth/index';
import { ErrorNote } from './components/async';
import { ExperimentsPage } from './pages/experiments';
import { RunsPage } from './pages/runs';
import { type Route, useRoute } from './router';

/**
 * A page loaded on first use, in a chunk of its own: the first screen (experiments, runs)
 * loads and parses only its own code, and uPlot comes with the pages that draw charts.
 */
function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  let loading: Promise<ComponentType<P>> | undefined;
  return function LazyPage(props: P) {
    const [, rerender] = useState(0);
    const [error, setError] = useState<Error>();
    // Layout effect: the chunk is asked for before the placeholder is painted.
    useLayoutEffect(() => {
      if (loaded) return;
      let live = true;
      loading ??= load().then((page) => {
        loaded = page;
        return page;
      });
      loading.then(
        () => live && rerender((n) => n + 1),
        (err: Error) => {
          loading = undefined;
          if (live) setError(new Error(`This page's code did not load (${err.message}): reload the page`));
        },
      );
      return () => {
        live = false;
      };
    }, []);
    if (error) return <ErrorNote error={error} />;
    const Page = loaded;
    return Page ? <Page {...props} /> : <p class="muted">Loading…</p>;
  };
}

const RunPage = lazyPage(() => import('./pages/run').then((m) => m.RunPage));
const ComparePage = lazyPage(() => import('./pages/compare').then((m) => m.ComparePage));
const ModelsPage = lazyPage(() => import('./pages/models').then((m) => m.ModelsPage));
const DeploymentsPage = lazyPage(() => import('./pages/deployments').then((m) => m.DeploymentsPage));
const AbExperimentsPage = lazyPage(() => import('./pages/ab-experiments').then((m) => m.AbExperimentsPage));
const MonitoringPage = lazyPage(() => import('./pages/monitoring').then((m) => m.MonitoringPage));
const FeaturesPage = lazyPage(() => import('./pages/features').then((m) => m.FeaturesPage));

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
