FROM node:20-bookworm
WORKDIR /opt/tstrace
COPY . .
RUN npm ci --no-audit --no-fund
# Clients in other containers share the run directory volume to reach client.sock.
CMD ["node", "apps/sessiond/bin/tstrace-sessiond", "-v"]
