import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config.js';
import { serviceEnv } from './env.js';

const schema = z.object(serviceEnv('checkout', 3000));

describe('loadConfig', () => {
  it('fills every setting with a default that points at this machine', () => {
    const config = loadConfig(schema, {});
    expect(config.PORT).toBe(3000);
    expect(config.DATABASE_URL).toBe('postgresql://postgres@127.0.0.1:5432/boxoffice_checkout');
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
  });

  it('reads and converts what the environment gives', () => {
    const config = loadConfig(schema, { PORT: '4000', KAFKA_BROKERS: 'a:1, b:2' });
    expect(config.PORT).toBe(4000);
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });

  it('reads the namespace that prefixes the names on the brokers, none unless given', () => {
    expect(loadConfig(schema, {}).BOXOFFICE_NAMESPACE).toBe('');
    expect(loadConfig(schema, { BOXOFFICE_NAMESPACE: 'e2e_1-a.b' }).BOXOFFICE_NAMESPACE).toBe('e2e_1-a.b');
    expect(() => loadConfig(schema, { BOXOFFICE_NAMESPACE: 'e2e/1' })).toThrow(/BOXOFFICE_NAMESPACE: expected letters, digits/);
  });

  describe('when a value is malformed', () => {
    it('names the variable, what was expected and what it got', () => {
      expect(() => loadConfig(schema, { PORT: 'eighty', RABBITMQ_URL: 'http://x' })).toThrow(ConfigError);
      try {
        loadConfig(schema, { PORT: 'eighty', RABBITMQ_URL: 'http://x' });
      } catch (error) {
        expect((error as Error).message).toMatch(/PORT: .* \(got "eighty"\)/);
        expect((error as Error).message).toMatch(/RABBITMQ_URL: expected a amqp or amqps URL \(got "http:\/\/x"\)/);
        expect((error as Error).message).not.toContain('\n');
      }
    });
  });

  describe('when a required value is missing', () => {
    it('says that it is not set', () => {
      const required = z.object({ ADMIN_API_KEY: z.string().min(1) });
      expect(() => loadConfig(required, {})).toThrow(/ADMIN_API_KEY: .*\(it is not set\)/);
    });
  });
});
