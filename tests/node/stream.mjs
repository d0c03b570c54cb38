// Iterates a `stream: true` image generation with the official Node SDK and prints the events.
import OpenAI from 'openai';

const baseURL = process.env.BASE_URL;
const apiKey = process.env.API_KEY;
const model = process.env.MODEL;

try {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  const stream = await client.images.generate({
    model,
    prompt: 'a cat on a roof',
    size: '256x256',
    stream: true,
    partial_images: Number(process.env.PARTIALS || 0),
  });
  const events = [];
  for await (const event of stream) {
    events.push({
      type: event.type,
      has_b64: !!event.b64_json,
      partial_image_index: event.partial_image_index,
    });
  }
  process.stdout.write(JSON.stringify(events) + '\n');
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + '\n');
  process.exit(1);
}
