// The official Node SDK against the server: generate b64 and url (then open the url with a
// plain fetch, no key), n=2, JPEG/WebP at two compressions, edits (multipart and JSON, one
// image, several, a mask), models with a good and a bad key, a variation; prints what it saw.
import fs from 'node:fs';
import OpenAI, { toFile } from 'openai';

const { BASE_URL: baseURL, API_KEY: apiKey, IMAGE, IMAGE2, MASK } = process.env;
const model = 'local/sketch';
const out = { request_ids: [] };
const seen = (id) => { if (id) out.request_ids.push(id); return id; };
const png = (path, name) => toFile(fs.readFileSync(path), name, { type: 'image/png' });
const dataUrl = (path) => 'data:image/png;base64,' + fs.readFileSync(path).toString('base64');

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    seen(err.requestID);
    return { status: err.status, code: err.code, param: err.param, message: err.message,
             request_id: err.requestID };
  }
}

try {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

  const b64 = await client.images.generate({ model, prompt: 'a sun', size: '256x256' });
  out.b64 = { request_id: seen(b64._request_id), has_b64: !!b64.data[0].b64_json,
              output_format: b64.output_format, size: b64.size };

  const urls = await client.images.generate({
    model, prompt: 'two cats', size: '256x256', response_format: 'url', n: 2 });
  seen(urls._request_id);
  out.url = [];
  for (const d of urls.data) {
    const r = await fetch(d.url); // no key, no cookie
    const body = Buffer.from(await r.arrayBuffer());
    out.url.push({ status: r.status, png: body.subarray(1, 4).toString() === 'PNG',
                   cache: r.headers.get('cache-control'), referrer: r.headers.get('referrer-policy'),
                   request_id: seen(r.headers.get('x-request-id')) });
  }

  out.compression = {};
  for (const fmt of ['jpeg', 'webp']) {
    const sizes = {};
    for (const level of [20, 95]) {
      const r = await client.images.generate({
        model, prompt: 'a red house', size: '256x256', output_format: fmt, output_compression: level });
      seen(r._request_id);
      sizes[level] = { format: r.output_format, b64: r.data[0].b64_json };
    }
    out.compression[fmt] = { formats: [sizes[20].format, sizes[95].format],
                             differ: sizes[20].b64 !== sizes[95].b64,
                             smaller: sizes[20].b64.length < sizes[95].b64.length };
  }

  const one = await client.images.edit({ model, prompt: 'a hat', image: await png(IMAGE, 'a.png') });
  const several = await client.images.edit({
    model, prompt: 'a sky', image: [await png(IMAGE, 'a.png'), await png(IMAGE2, 'b.png')],
    mask: await png(MASK, 'm.png'), response_format: 'url' });
  const severalGet = await fetch(several.data[0].url);
  const json = await client.post('/images/edits', { body: {
    model, prompt: 'a hat', images: [{ image_url: dataUrl(IMAGE) }, { image_url: dataUrl(IMAGE2) }],
    mask: { image_url: dataUrl(MASK) } } }).withResponse();
  const jsonOne = await client.post('/images/edits', { body: {
    model, prompt: 'a hat', images: [{ image_url: dataUrl(IMAGE) }] } });
  out.edits = {
    one: !!one.data[0].b64_json, several_url_status: severalGet.status,
    json: !!json.data.data[0].b64_json, json_one: jsonOne.data.length,
    ids: [seen(one._request_id), seen(several._request_id), seen(json.request_id)],
    remote: await failure(client.post('/images/edits', { body: {
      prompt: 'x', images: [{ image_url: 'https://example.com/a.png' }] } })),
  };

  const models = await client.models.list();
  out.models = { ids: models.data.map((m) => m.id) };
  const bad = new OpenAI({ baseURL, apiKey: 'idk_wrong', maxRetries: 0 });
  out.models.bad_key = await failure(bad.models.list());

  out.variation = await failure(
    client.images.createVariation({ image: await png(IMAGE, 'a.png') }));
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (err) {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
}
