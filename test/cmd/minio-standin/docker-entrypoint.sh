#!/bin/sh
# The stand-in image's entrypoint, where MinIO's image has its own and
# MinIO's chart calls it: `docker-entrypoint.sh minio server ...`. As
# MinIO's does, it runs its arguments as the command, `minio` prepended when
# they start with anything else; minio is /usr/bin/minio.
PATH=/usr/bin:$PATH
if [ -n "$1" ] && [ "$1" != minio ]; then
	set -- minio "$@"
fi
exec "$@"
