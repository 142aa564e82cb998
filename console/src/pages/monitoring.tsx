import { ModelPicker } from '../components/model-picker';
import { href } from '../router';

/** Drift, predictions, performance, latency and errors of a served model. */
export function MonitoringPage(props: { model?: string }) {
  return (
    <section>
      <h1>Monitoring</h1>
      <ModelPicker current={props.model} link={(m) => href('monitoring', m)} />
      <p class="note">
        Planned: the drift reports, performance and request metrics are not yet readable through the platform
        API.
      </p>
    </section>
  );
}
