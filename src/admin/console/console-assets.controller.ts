import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../../infra/http/credential.decorator.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { ConsoleSurface } from './console-error.filter.js';
import { ConsoleDocs, ConsolePage } from './console-docs.js';

/** The console's stylesheet and script: served by Latchkey itself, the only sources the console's CSP allows. */
@ConsoleDocs(false)
@Controller('admin/assets')
@ConsoleSurface()
@Public()
export class ConsoleAssetsController {
  @Get('console.css')
  @ConsolePage('The console stylesheet')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  css() {
    return CONSOLE_CSS;
  }

  @Get('console.js')
  @ConsolePage('The console script (dialogs, copy buttons, live incident view)')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  js() {
    return CONSOLE_JS;
  }
}
