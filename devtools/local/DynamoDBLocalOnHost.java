// DynamoDB Local listening on one address only (devtools/local/dynamodb.py runs it).
//
//     java -cp DynamoDBLocal.jar DynamoDBLocalOnHost.java <address> <DynamoDB Local's own options>
//
// DynamoDB Local has no option for its bind address: its DynamoDBProxyServer builds Jetty's
// Server(port), whose one connector listens on every interface, and it accepts any credentials.
// This launcher does what the jar's ServerRunner.main does (parse the same options, build the same
// server), then sets the address on that connector before the server starts. The Jetty server is a
// private field of DynamoDBProxyServer (found by its type, not its name): if a new DynamoDB Local
// has none, or a connector that is not a ServerConnector, the launcher exits with an error rather
// than listen on every interface. tests/local/test_dynamodb_local.py checks the address it listens on.
//
// Run as a single-file source program (java compiles it in memory at each start; the JDK module
// jdk.compiler is needed, which JDKs and Debian's openjdk-*-jre-headless include).

import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import java.util.Arrays;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public final class DynamoDBLocalOnHost {
    private DynamoDBLocalOnHost() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args[0].isEmpty()) {
            fail("usage: DynamoDBLocalOnHost <address> [DynamoDB Local options]");
        }
        String address = args[0];
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(Arrays.copyOfRange(args, 1, args.length));
        Server server = jettyServer(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors.length == 0) {
            fail("DynamoDB Local's server has no connector: not started");
        }
        for (Connector connector : connectors) {
            if (!(connector instanceof ServerConnector)) {
                fail("DynamoDB Local's connector is a " + connector.getClass().getName() + ", not a ServerConnector: not started");
            }
            ((ServerConnector) connector).setHost(address);
        }
        proxy.start();
        System.err.println("DynamoDB Local listens on " + address + " only");
    }

    private static Server jettyServer(DynamoDBProxyServer proxy) throws IllegalAccessException {
        for (Field field : DynamoDBProxyServer.class.getDeclaredFields()) {
            if (field.getType() == Server.class) {
                field.setAccessible(true);
                Server server = (Server) field.get(proxy);
                if (server != null) {
                    return server;
                }
            }
        }
        fail("this DynamoDB Local keeps no Jetty Server in DynamoDBProxyServer: not started (see DynamoDBLocalOnHost.java)");
        return null;
    }

    private static void fail(String message) {
        System.err.println("error: " + message);
        System.exit(2);
    }
}
