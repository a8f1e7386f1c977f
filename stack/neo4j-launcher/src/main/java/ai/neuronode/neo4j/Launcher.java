package ai.neuronode.neo4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
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
 *   NEO4J_PROCEDURES the procedures the application calls, comma-separated (default
 *                   db.index.fulltext.queryNodes); no other procedure is loaded
 *
 * Hardened for an application that also runs users' read queries: LOAD CSV cannot read files (file
 * URLs off, and an empty import folder of its own), only the listed procedures are loaded, every
 * transaction ends after at most five minutes, and every query is logged (without parameters) to
 * NEO4J_HOME/logs/query.log.
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
    List<String> procedures = List.of(System.getenv().getOrDefault("NEO4J_PROCEDURES", "db.index.fulltext.queryNodes").split(","));
    Path homePath = Path.of(home);
    Files.createDirectories(homePath);
    Path importDir = homePath.resolve("import");
    Files.createDirectories(importDir);
    Files.setPosixFilePermissions(importDir, PosixFilePermissions.fromString("rwx------"));
    try (var entries = Files.list(importDir)) {
      if (entries.findAny().isPresent()) {
        fail(importDir + " must be empty: it is the only folder LOAD CSV could read, and nothing may be read");
      }
    }

    DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(homePath)
        .setConfig(BoltConnector.enabled, true)
        .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
        .setConfig(HttpConnector.enabled, false)
        .setConfig(GraphDatabaseSettings.auth_enabled, true)
        .setConfig(GraphDatabaseSettings.pagecache_memory, org.neo4j.io.ByteUnit.parse(pageCache))
        .setConfig(GraphDatabaseSettings.allow_file_urls, false)
        .setConfig(GraphDatabaseSettings.load_csv_file_url_root, importDir)
        .setConfig(GraphDatabaseSettings.procedure_allowlist, procedures)
        .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMinutes(5))
        .setConfig(GraphDatabaseSettings.log_queries, GraphDatabaseSettings.LogQueryLevel.INFO)
        .setConfig(GraphDatabaseSettings.log_queries_parameter_logging_enabled, false)
        .build();
    Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown, "neo4j-shutdown"));

    // The built-in user starts with a password that must change; set ours, idempotently.
    try {
      dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
          "ALTER USER neo4j SET PLAINTEXT PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
    } catch (org.neo4j.graphdb.QueryExecutionException e) {
      // A restart with the password already set: Neo4j refuses to "change" it to itself.
      if (!String.valueOf(e.getMessage()).contains("Old password and new password cannot be the same")) {
        throw e;
      }
    }
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
