import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { KEY_PATTERN } from '#rollgate/contracts';
import { ValidationError } from '#rollgate/platform';

/** Path keys (flag, environment, segment) are NATS subject tokens: validated before anything is sent. */
@Injectable()
export class KeyParamPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (typeof value === 'string' && KEY_PATTERN.test(value)) return value;
    const name = metadata.data ?? 'key';
    const message = `must match ${KEY_PATTERN.source}`;
    throw ValidationError.of([{ path: name, message }], `${name} ${message}`);
  }
}
