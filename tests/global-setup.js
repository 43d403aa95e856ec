// The suite publishes to a real RabbitMQ: without one it must fail loudly, never skip.
const net = require('node:net');

module.exports = async function globalSetup() {
  await new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: 5672 });
    socket.setTimeout(5000);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    const fail = (reason) => {
      socket.destroy();
      reject(
        new Error(
          `RabbitMQ is not reachable on 127.0.0.1:5672 (${reason}). Start it (rabbitmq-server -detached) before running the tests.`,
        ),
      );
    };
    socket.once('timeout', () => fail('timeout'));
    socket.once('error', (error) => fail(error.message));
  });
};
