import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../../infra/http/credential.decorator.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { ConsoleSurface } from './console-error.filter.js';

/** The console's stylesheet and script: served by Latchkey itself, the only sources the console's CSP allows. */
@ApiExcludeController()
@Controller('admin/assets')
@ConsoleSurface()
@Public()
export class ConsoleAssetsController {
  @Get('console.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  css() {
    return CONSOLE_CSS;
  }

  @Get('console.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  js() {
    return CONSOLE_JS;
  }
}
