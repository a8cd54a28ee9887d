import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';

@Controller()
export class MeController {
  /** The token's claims. */
  @UseGuards(AuthGuard('jwt'))
  @Get('me')
  me(@Req() req: { user: Record<string, unknown> }): Record<string, unknown> {
    return req.user;
  }
}
