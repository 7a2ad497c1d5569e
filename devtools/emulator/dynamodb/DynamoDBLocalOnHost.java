// DynamoDB Local listening on one address only (devtools/emulator/dynamodb/process.py runs it).
//
//     java -cp DynamoDBLocal.jar DynamoDBLocalOnHost.java <address> <DynamoDB Local's own options>
//
// DynamoDB Local has no option for its bind address: its DynamoDBProxyServer builds Jetty's
// Server(port), whose one connector listens on every interface, and it accepts any credentials.
// This launcher does what the jar's ServerRunner.main does (parse the same options, build the same
// server), then sets the address on that connector before the server starts, and puts a check of
// the Host header in front of DynamoDB Local's handler: a request that names another host (a web
// page whose name was made to resolve to 127.0.0.1, DNS rebinding) is answered 421 and never
// reaches a table. The names accepted: localhost, 127.0.0.1, [::1], the address it listens on and,
// when that is not the loopback, host.docker.internal (SAM CLI's containers). The Jetty server is a
// private field of DynamoDBProxyServer (found by its type, not its name): if a new DynamoDB Local
// has none, or a connector that is not a ServerConnector, the launcher exits with an error rather
// than listen on every interface. tests/local/test_dynamodb_local.py checks the address it listens on.
//
// Run as a single-file source program (java compiles it in memory at each start; the JDK module
// jdk.compiler is needed, which JDKs and Debian's openjdk-*-jre-headless include).

import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.HandlerWrapper;

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
        Set<String> names = new HashSet<>(Arrays.asList("localhost", "127.0.0.1", "[::1]", address.toLowerCase(Locale.ROOT)));
        if (!address.startsWith("127.") && !address.equals("::1")) {
            names.add("host.docker.internal");
        }
        HostCheck check = new HostCheck(names);
        check.setHandler(server.getHandler());
        server.setHandler(check);
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

    /** 421 for a request whose Host names none of `names` (port aside). */
    static final class HostCheck extends HandlerWrapper {
        private static final byte[] MISDIRECTED = ("{\"__type\":\"com.amazonaws.dynamodb.v20120810#MisdirectedRequest\","
                + "\"message\":\"DynamoDB Local answers only to a loopback Host\"}").getBytes(StandardCharsets.UTF_8);
        private final Set<String> names;

        HostCheck(Set<String> names) {
            this.names = names;
        }

        @Override
        public void handle(String target, Request base, HttpServletRequest request, HttpServletResponse response)
                throws IOException, javax.servlet.ServletException {
            String host = request.getHeader("Host");
            String name = host == null ? "" : host.trim().toLowerCase(Locale.ROOT).replaceFirst(":[0-9]*$", "");
            if (names.contains(name)) {
                super.handle(target, base, request, response);
                return;
            }
            base.setHandled(true);
            response.setStatus(421);
            response.setContentType("application/x-amz-json-1.0");
            response.setContentLength(MISDIRECTED.length);
            response.getOutputStream().write(MISDIRECTED);
        }
    }

    private static void fail(String message) {
        System.err.println("error: " + message);
        System.exit(2);
    }
}
