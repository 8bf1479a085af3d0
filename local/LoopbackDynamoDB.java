import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;
import software.amazon.dynamodb.services.local.server.LocalDynamoDBRequestHandler;
import software.amazon.dynamodb.services.local.server.LocalDynamoDBServerHandler;

/**
 * DynamoDB Local (in memory, or in files under a directory, with Streams) served on one address only. The stock launcher
 * binds every interface and has no option to narrow it; this one builds the same handler and
 * gives it a connector on the address asked for. It also never starts telemetry.
 *
 * Usage: java -cp DynamoDBLocal.jar:DynamoDBLocal_lib/* LoopbackDynamoDB.java 127.0.0.1 8000 [DB_DIR]
 * (local/emulators.ts compiles it once and runs the class; port 0 takes a free port, printed when listening)
 */
public class LoopbackDynamoDB {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        // With a directory the tables outlive the process, so an interrupted run can resume.
        String dbPath = args.length > 2 ? args[2] : null;
        LocalDynamoDBServerHandler handler =
            new LocalDynamoDBServerHandler(new LocalDynamoDBRequestHandler(port, dbPath == null, dbPath, true, false), null);
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(host);
        connector.setPort(port);
        server.addConnector(connector);
        // The proxy only assembles the handler tree here; its own all-interfaces server is never started.
        server.setHandler(new DynamoDBProxyServer(0, handler).setUpHandler(handler));
        server.start();
        // The parent holds our stdin open: when it is gone, even killed outright, so are we.
        Thread watchdog = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // keep reading until the pipe closes
                }
            } catch (java.io.IOException ignored) {
                // a broken pipe means the same
            }
            System.exit(0);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        System.out.println("DynamoDB Local listening on " + host + ":" + connector.getLocalPort());
        server.join();
    }
}
