import { useEffect, useState } from 'preact/hooks';
import { apiFetch } from '../auth/index';

const IMAGE = /\.(png|jpe?g|gif|svg|webp)$/i;
const TEXT = /\.(txt|json|ya?ml|md|csv|log|MLmodel)$|(^|\/)MLmodel$/i;

export const isImage = (path: string) => IMAGE.test(path);
export const isText = (path: string) => TEXT.test(path);

/**
 * An artifact fetched through the signed client (an `<img src>` could not sign its request)
 * and shown inline: images as images, small text files as text.
 */
export function ArtifactPreview(props: { url: string; path: string }) {
  const [shown, setShown] = useState<{ image?: string; text?: string; error?: string }>({});
  useEffect(() => {
    let objectUrl: string | undefined;
    let live = true;
    apiFetch(props.url)
      .then(async (res) => {
        if (!res.ok) throw new Error(`${props.path}: ${res.status}`);
        if (isImage(props.path)) {
          const type = props.path.endsWith('.svg') ? 'image/svg+xml' : undefined;
          const blob = await res.blob();
          objectUrl = URL.createObjectURL(type ? new Blob([blob], { type }) : blob);
          if (live) setShown({ image: objectUrl });
        } else {
          const text = await res.text();
          if (live) setShown({ text: text.length > 20_000 ? `${text.slice(0, 20_000)}\n…` : text });
        }
      })
      .catch((e: Error) => live && setShown({ error: e.message }));
    return () => {
      live = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [props.url, props.path]);
  if (shown.error) return <p class="error">{shown.error}</p>;
  if (shown.image) return <img class="artifact" src={shown.image} alt={props.path} />;
  if (shown.text !== undefined) return <pre>{shown.text}</pre>;
  return <p class="muted">Loading {props.path}…</p>;
}
