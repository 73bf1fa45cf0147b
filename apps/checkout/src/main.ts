import { loadConfig } from '@boxoffice/config';
import { httpSecurity, runService, startService } from '@boxoffice/platform';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { checkoutConfigSchema } from './checkout.config.js';
import { CheckoutModule } from './checkout.module.js';
import { FrontDoor } from './front-door/front-door.js';

await runService(async () => {
  const config = loadConfig(checkoutConfigSchema);
  await startService({
    name: 'checkout',
    module: CheckoutModule.register(config),
    host: config.HOST,
    port: config.PORT,
    databaseUrl: config.DATABASE_URL,
    migrationsDir: 'apps/checkout/prisma/migrations',
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logLevel: config.LOG_LEVEL,
    // Scheduling a concert is an operator's act.
    security: httpSecurity(config, { adminRoutes: ['POST /concerts'] }),
    configure: (app) => {
      app.get(FrontDoor).attach(app.getHttpAdapter().getInstance());
      const document = new DocumentBuilder()
        .setTitle('boxoffice checkout')
        .setDescription('Buy concert tickets: POST /orders answers 202 at once; poll the order until it is CONFIRMED or REJECTED.')
        .build();
      SwaggerModule.setup('docs', app, SwaggerModule.createDocument(app, document));
    },
  });
});
