import { render } from 'preact';
import { App } from './app';
import './styles.css';

// When the bundle starts running: splits the first render's time into loading and the rest.
performance.mark('console-start');

render(<App />, document.getElementById('app') as HTMLElement);
