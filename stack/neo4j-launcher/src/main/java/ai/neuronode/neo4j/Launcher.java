package ai.neuronode.neo4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Runs an embedded Neo4j with Bolt on loopback until the process is told to stop.
 *
 * Arguments: none. Environment:
 *   NEO4J_HOME      data folder (required)
 *   NEO4J_BOLT_PORT Bolt port (default 7687)
 *   NEO4J_PASSWORD  password of the "neo4j" user (required, at least 8 characters)
 *   NEO4J_PAGECACHE page cache size, e.g. "256m" (default 256m: the stack shares 2 cores and
 *                   its memory with eight other processes)
 */
public final class Launcher {
  public static void main(String[] args) throws Exception {
    String home = required("NEO4J_HOME");
    String password = required("NEO4J_PASSWORD");
    if (password.length() < 8) {
      fail("NEO4J_PASSWORD must have at least 8 characters");
    }
    int port = Integer.parseInt(System.getenv().getOrDefault("NEO4J_BOLT_PORT", "7687"));
    String pageCache = System.getenv().getOrDefault("NEO4J_PAGECACHE", "256m");
    Path homePath = Path.of(home);
    Files.createDirectories(homePath);

    DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(homePath)
        .setConfig(BoltConnector.enabled, true)
        .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
        .setConfig(HttpConnector.enabled, false)
        .setConfig(GraphDatabaseSettings.auth_enabled, true)
        .setConfig(GraphDatabaseSettings.pagecache_memory, org.neo4j.io.ByteUnit.parse(pageCache))
        .build();
    Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown, "neo4j-shutdown"));

    // The built-in user starts with a password that must change; set ours, idempotently.
    dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
        "ALTER USER neo4j SET PLAINTEXT PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
    // Ensure the default database is up before reporting ready.
    dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
    System.out.println("neo4j-launcher: ready, bolt://127.0.0.1:" + port);
    System.out.flush();
    Thread.currentThread().join();
  }

  private static String required(String name) {
    String value = System.getenv(name);
    if (value == null || value.isBlank()) {
      fail(name + " is required");
    }
    return value;
  }

  private static void fail(String message) {
    System.err.println("neo4j-launcher: " + message);
    System.exit(2);
  }
}
