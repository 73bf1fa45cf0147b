import 'reflect-metadata';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { hello } from '@boxoffice/config';

@Injectable()
class Svc { greet(): string { return hello(); } }

@Controller()
class C {
  constructor(private readonly svc: Svc) {}
  @Get('x') x(): string { return this.svc.greet(); }
}

@Module({ controllers: [C], providers: [Svc] })
class M {}

const app = await NestFactory.create<NestFastifyApplication>(M, new FastifyAdapter());
await app.listen(3999, '127.0.0.1');
console.log(await (await fetch('http://127.0.0.1:3999/x')).text());
await app.close();
