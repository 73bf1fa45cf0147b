import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config.js';
import { developmentSecrets, env, serviceEnv } from './env.js';

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

  describe('when a rejected value is a secret', () => {
    it('never echoes it, nor the password in a URL', () => {
      const message = (() => {
        try {
          loadConfig(schema, { ADMIN_API_KEY: 'short', RABBITMQ_URL: 'http://user:hunter2-secret@x' });
        } catch (error) {
          return (error as Error).message;
        }
      })();
      expect(message).toMatch(/ADMIN_API_KEY: expected at least 12 characters \(got a value\)/);
      expect(message).toMatch(/RABBITMQ_URL: .*\(got "http:\/\/user:\*\*\*@x\/?"\)/);
      expect(message).not.toContain('short');
      expect(message).not.toContain('hunter2');
    });
  });

  describe('in production (NODE_ENV=production)', () => {
    const withToken = z.object({ ...serviceEnv('billing', 3001), BILLING_API_TOKEN: env.secret('BILLING_API_TOKEN') });
    const own = {
      NODE_ENV: 'production',
      ADMIN_API_KEY: 'an-operator-key-of-ours',
      BILLING_API_TOKEN: 'a-service-token-of-ours',
      RABBITMQ_URL: 'amqp://billing:s3cret-pass@rabbitmq:5672',
      KAFKA_USERNAME: 'billing',
      KAFKA_PASSWORD: 'an-other-s3cret',
    };

    it('refuses the development secrets and the development broker accounts, all in one line that shows no secret', () => {
      let message = '';
      try {
        loadConfig(withToken, { NODE_ENV: 'production' });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message).toBe(
        'refused in production (NODE_ENV=production): ' +
          'ADMIN_API_KEY is the development default; set a secret of your own; ' +
          'BILLING_API_TOKEN is the development default; set a secret of your own; ' +
          'RABBITMQ_URL uses the broker\'s development account "boxoffice-billing"; give the service an account of its own; ' +
          'KAFKA_USERNAME and KAFKA_PASSWORD are the development account "boxoffice-billing"; give the service an account of its own',
      );
      for (const secret of Object.values(developmentSecrets)) expect(message).not.toContain(secret);
    });

    it('takes secrets and accounts of its own', () => {
      expect(loadConfig(withToken, own).ADMIN_API_KEY).toBe('an-operator-key-of-ours');
    });

    it('checks the accounts of the transports in use only', () => {
      const activemq = { ...own, COMMAND_TRANSPORT: 'activemq', ACTIVEMQ_URL: 'amqp://boxoffice:boxoffice@artemis:61617' };
      expect(() => loadConfig(withToken, activemq)).toThrow(/ACTIVEMQ_URL uses the broker's development account "boxoffice"/);
      expect(() =>
        loadConfig(withToken, { ...activemq, ACTIVEMQ_URL: 'amqp://boxoffice-billing:billing-development@artemis:61617' }),
      ).toThrow(/ACTIVEMQ_URL uses the broker's development account "boxoffice-billing"/);
      expect(() =>
        loadConfig(withToken, { ...activemq, ACTIVEMQ_URL: 'amqp://billing:pw@artemis:61617', RABBITMQ_URL: undefined }),
      ).not.toThrow();
      expect(() => loadConfig(withToken, { ...own, RABBITMQ_URL: 'amqp://guest:guest@rabbitmq:5672/boxoffice' })).toThrow(
        /RABBITMQ_URL uses the broker's development account "guest"/,
      );
      expect(() => loadConfig(withToken, { ...own, KAFKA_USERNAME: 'boxoffice-operator', KAFKA_PASSWORD: 'operator-development' })).toThrow(
        /KAFKA_USERNAME and KAFKA_PASSWORD are the development account "boxoffice-operator"/,
      );
      expect(() =>
        loadConfig(withToken, { ...own, EVENT_TRANSPORT: 'nats', KAFKA_USERNAME: undefined, KAFKA_PASSWORD: undefined }),
      ).not.toThrow();
      // The same user with a password of its own is an account of its own (compose's).
      expect(() => loadConfig(withToken, { ...activemq, ACTIVEMQ_URL: 'amqp://boxoffice:compose-pw@artemis:61617' })).not.toThrow();
    });

    it('leaves development alone: npm start needs no configuration', () => {
      expect(() => loadConfig(withToken, {})).not.toThrow();
      expect(() => loadConfig(withToken, { NODE_ENV: 'test' })).not.toThrow();
    });
  });

  describe('when a required value is missing', () => {
    it('says that it is not set', () => {
      const required = z.object({ ADMIN_API_KEY: z.string().min(1) });
      expect(() => loadConfig(required, {})).toThrow(/ADMIN_API_KEY: .*\(it is not set\)/);
    });
  });
});
