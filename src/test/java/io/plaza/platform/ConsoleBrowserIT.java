package io.plaza.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The console in a real browser (headless Chromium, Debian's, installed by bin/setup-test-tools): two users in two
 * browser sessions chat over the WebSocket, and a post reaches a follower's feed live over the event stream. Each
 * step waits for what the user would see; screenshots go to target/screenshots.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleBrowserIT {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Path SCREENSHOTS = Path.of("target", "screenshots");

  private NodeUnderTest it;
  private WebDriver ann;
  private WebDriver ben;

  @BeforeAll
  void start() throws Exception {
    it = NodeUnderTest.start("console-browser-it");
    Files.createDirectories(SCREENSHOTS);
    ann = browser();
    ben = browser();
    OPEN.put("ann", ann);
    OPEN.put("ben", ben);
  }

  @AfterAll
  void stop() {
    if (ann != null) ann.quit();
    if (ben != null) ben.quit();
    if (it != null) it.close();
  }

  /** A headless Chromium of its own (a separate profile: another device), driven by the system's chromedriver. */
  private static WebDriver browser() {
    var options = new ChromeOptions();
    options.setBinary(new File("/usr/bin/chromium"));
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800");
    var logging = new org.openqa.selenium.logging.LoggingPreferences();
    logging.enable(org.openqa.selenium.logging.LogType.BROWSER, java.util.logging.Level.ALL);
    options.setCapability("goog:loggingPrefs", logging);
    var service = new ChromeDriverService.Builder().usingDriverExecutable(new File("/usr/bin/chromedriver")).build();
    return new ChromeDriver(service, options);
  }

  private String console() {
    return "http://127.0.0.1:" + it.node.httpPort() + "/console";
  }

  private static void waitFor(String what, Supplier<Boolean> condition) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (condition.get()) return;
      } catch (RuntimeException e) {
        // the element is not there yet
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    throw new AssertionError("not within " + WAIT + ": " + what + diagnostics());
  }

  /** What the pages showed (their error toasts and console messages), for a failure message. */
  private static String diagnostics() {
    var text = new StringBuilder();
    for (var entry : OPEN.entrySet()) {
      var browser = entry.getValue();
      try {
        text.append("\n  ").append(entry.getKey()).append(": toast '")
            .append(browser.findElement(By.id("toast")).getAttribute("textContent")).append("'");
        for (var log : browser.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER)) {
          text.append("\n    console: ").append(log.getMessage());
        }
        screenshot(browser, "failed-" + entry.getKey());
      } catch (Exception e) {
        text.append(" (").append(e.getMessage()).append(")");
      }
    }
    return text.toString();
  }

  private static final java.util.Map<String, WebDriver> OPEN = new java.util.LinkedHashMap<>();

  private void signIn(WebDriver browser, String user) {
    browser.get(console());
    browser.findElement(By.id("signin-user")).sendKeys(user);
    browser.findElement(By.cssSelector("#signin-dev button")).click();
    waitFor(user + " signed in", () -> browser.findElement(By.id("who")).getText().equals("signed in as " + user));
  }

  /** The element's text; found again if the page re-rendered it between finding and reading. */
  private static String text(WebDriver browser, String css) {
    for (int attempt = 1; ; attempt++) {
      try {
        return browser.findElement(By.cssSelector(css)).getText();
      } catch (org.openqa.selenium.StaleElementReferenceException e) {
        if (attempt == 3) throw e;
      }
    }
  }

  /** Clicks the element; found again if the page re-rendered it (the conversation list does on every update). */
  private static void click(WebDriver browser, By by) {
    for (int attempt = 1; ; attempt++) {
      try {
        browser.findElement(by).click();
        return;
      } catch (org.openqa.selenium.StaleElementReferenceException e) {
        if (attempt == 3) throw e;
      }
    }
  }

  /** Chromium's network emulation: offline, or back to an unthrottled network. */
  private static java.util.Map<String, Object> networkConditions(boolean offline) {
    return java.util.Map.of("offline", offline, "latency", 0, "downloadThroughput", -1, "uploadThroughput", -1);
  }

  private static void screenshot(WebDriver browser, String name) throws Exception {
    var png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
    Files.write(SCREENSHOTS.resolve(name + ".png"), png);
  }

  @Test
  void twoUsersChatFollowAndPayEachOther() throws Exception {
    signIn(ann, "cb-ann");
    signIn(ben, "cb-ben");

    // Ann starts a direct conversation with Ben and writes; her page shows it once the server pushed it back.
    ann.findElement(By.id("new-members")).sendKeys("cb-ben");
    ann.findElement(By.cssSelector("#new-conversation button")).click();
    waitFor("the conversation opened", () -> ann.findElement(By.id("compose")).isDisplayed());
    ann.findElement(By.id("compose-body")).sendKeys("hello ben");
    ann.findElement(By.cssSelector("#compose button")).click();
    waitFor("ann sees her message", () -> text(ann, "#messages").contains("hello ben"));

    // Ben's list gets the conversation when the message arrives on his socket; he opens it and reads it.
    waitFor("ben's list shows the conversation", () -> !ben.findElements(By.cssSelector("#conversations li"))
        .isEmpty());
    // A direct conversation has no title: each side sees it named after the other member.
    waitFor("ben's list names the conversation after ann", () -> text(ben, "#conversations li").startsWith("cb-ann"));
    waitFor("ann's list names it after ben", () -> text(ann, "#conversations li").startsWith("cb-ben"));
    ben.findElement(By.cssSelector("#conversations li")).click();
    waitFor("ben sees ann's message", () -> text(ben, "#messages").contains("hello ben"));
    assertTrue(text(ben, "#messages li").startsWith("cb-ann"), "sent by ann: " + text(ben, "#messages li"));
    // Receipts: Ben's page read the message, and Ann's page says so.
    waitFor("ann sees her message read", () -> text(ann, "#messages li.mine .receipt").contains("read"));
    // Typing: Ben's keys reach Ann's open conversation.
    ben.findElement(By.id("compose-body")).sendKeys("typ");
    waitFor("ann sees ben typing", () -> text(ann, "#typing").equals("cb-ben is typing…"));
    ben.findElement(By.id("compose-body")).clear();
    // Ann edits her message, then sends and deletes another: Ben's page follows both.
    ann.findElement(By.cssSelector("#messages li.mine button.edit")).click();
    var edited = ann.findElement(By.cssSelector("#messages .edit-body"));
    edited.clear();
    edited.sendKeys("hello ben, edited");
    ann.findElement(By.cssSelector("#messages .edit-form button")).click();
    waitFor("ben sees the edit", () -> text(ben, "#messages").contains("hello ben, edited"));
    ann.findElement(By.id("compose-body")).sendKeys("oops, wrong chat");
    ann.findElement(By.cssSelector("#compose button")).click();
    waitFor("ben gets the second message", () -> text(ben, "#messages").contains("oops, wrong chat"));
    ann.findElement(By.xpath("//ol[@id='messages']/li[contains(., 'oops')]//button[contains(@class,'delete')]"))
        .click();
    waitFor("ben sees it deleted", () -> !text(ben, "#messages").contains("oops, wrong chat")
        && text(ben, "#messages").contains("(deleted)"));
    // Ben's connection drops; what Ann writes meanwhile reaches his page when it is back (store-and-forward sync).
    ((org.openqa.selenium.JavascriptExecutor) ben).executeScript("window.plaza.dropChatConnection()");
    Thread.sleep(300); // closed on the node too; the page reconnects after 2 s
    ann.findElement(By.id("compose-body")).sendKeys("while you were away");
    ann.findElement(By.cssSelector("#compose button")).click();
    waitFor("ann's message sent", () -> text(ann, "#messages").contains("while you were away"));
    waitFor("ben's page synced it after reconnecting", () -> text(ben, "#messages").contains("while you were away"));
    // Ben's browser goes offline (Chromium's network emulation): nothing reaches the page, and what Ann wrote
    // meanwhile appears once the network is back.
    var network = (ChromeDriver) ben;
    network.executeCdpCommand("Network.enable", java.util.Map.of());
    network.executeCdpCommand("Network.emulateNetworkConditions", networkConditions(true));
    waitFor("ben's page knows it is offline", () -> Boolean.FALSE.equals(
        ((org.openqa.selenium.JavascriptExecutor) ben).executeScript("return navigator.onLine")));
    ann.findElement(By.id("compose-body")).sendKeys("sent while you were offline");
    ann.findElement(By.cssSelector("#compose button")).click();
    waitFor("ann's message sent", () -> text(ann, "#messages").contains("sent while you were offline"));
    Thread.sleep(1_000); // a delivery to an open socket takes milliseconds
    assertTrue(!text(ben, "#messages").contains("sent while you were offline"), "an offline page receives nothing");
    network.executeCdpCommand("Network.emulateNetworkConditions", networkConditions(false));
    waitFor("ben's page synced what it missed offline",
        () -> text(ben, "#messages").contains("sent while you were offline"));
    assertEquals(1, ben.findElements(By.xpath("//ol[@id='messages']/li[contains(., 'sent while you were offline')]"))
        .size(), "shown once");
    // A group: Ann creates it with Ben and adds Carl; Ben, a member but not an admin, sees the members and leaves.
    ann.findElement(By.cssSelector("#new-kind option[value=group]")).click();
    ann.findElement(By.id("new-members")).sendKeys("cb-ben");
    ann.findElement(By.id("new-title")).sendKeys("Weekend trip");
    ann.findElement(By.cssSelector("#new-conversation button")).click();
    waitFor("the group opened", () -> text(ann, "#conversation-title").equals("Weekend trip"));
    waitFor("ann sees its members", () -> text(ann, "#member-list").equals("members: cb-ann (owner), cb-ben"));
    ann.findElement(By.id("add-member-user")).sendKeys("cb-carl");
    ann.findElement(By.cssSelector("#add-member button")).click();
    waitFor("carl was added", () -> text(ann, "#member-list").equals("members: cb-ann (owner), cb-ben, cb-carl"));
    ann.findElement(By.id("compose-body")).sendKeys("who is driving?");
    ann.findElement(By.cssSelector("#compose button")).click();
    waitFor("ben's list has the group", () -> !ben.findElements(By.xpath(
        "//ul[@id='conversations']/li[contains(., 'Weekend trip')]")).isEmpty());
    click(ben, By.xpath("//ul[@id='conversations']/li[contains(., 'Weekend trip')]"));
    waitFor("ben sees the group's members", () -> text(ben, "#member-list").contains("cb-carl"));
    assertTrue(!ben.findElement(By.id("add-member")).isDisplayed(), "only admins add members");
    ben.findElement(By.id("leave")).click();
    waitFor("ben left the group", () -> ben.findElements(By.xpath(
        "//ul[@id='conversations']/li[contains(., 'Weekend trip')]")).isEmpty());
    click(ann, By.xpath("//ul[@id='conversations']/li[contains(., 'Weekend trip')]"));
    waitFor("ann sees ben gone", () -> text(ann, "#member-list").equals("members: cb-ann (owner), cb-carl"));
    click(ann, By.xpath("//ul[@id='conversations']/li[contains(., 'cb-ben')]"));
    click(ben, By.xpath("//ul[@id='conversations']/li[contains(., 'cb-ann')]"));
    // A second tab of Ann's is a second device: it has the history, and what the first tab sends reaches it live.
    var firstTab = ann.getWindowHandle();
    ann.switchTo().newWindow(org.openqa.selenium.WindowType.TAB);
    signIn(ann, "cb-ann");
    var withBen = By.xpath("//ul[@id='conversations']/li[contains(., 'cb-ben')]");
    waitFor("the second tab lists the conversation", () -> !ann.findElements(withBen).isEmpty());
    click(ann, withBen);
    waitFor("the second tab shows the history", () -> text(ann, "#messages").contains("while you were away"));
    var secondTab = ann.getWindowHandle();
    ann.switchTo().window(firstTab);
    ann.findElement(By.id("compose-body")).sendKeys("from my first tab");
    ann.findElement(By.cssSelector("#compose button")).click();
    ann.switchTo().window(secondTab);
    waitFor("the second tab gets it live", () -> text(ann, "#messages").contains("from my first tab"));
    ann.close();
    ann.switchTo().window(firstTab);
    screenshot(ann, "chat-ann");
    screenshot(ben, "chat-ben");

    // Ben follows Ann; Ann posts; the post appears in Ben's feed without a reload.
    ben.findElement(By.cssSelector("#tabs button[data-view=feed]")).click();
    assertTrue(ben.findElement(By.id("feed")).isDisplayed() && !ben.findElement(By.id("chat")).isDisplayed(),
        "one view at a time");
    ben.findElement(By.id("follow-user")).sendKeys("cb-ann");
    ben.findElement(By.cssSelector("#follow-form button")).click();
    waitFor("the follow went through", () -> ben.findElement(By.id("follow-user")).getAttribute("value").isEmpty());
    ann.findElement(By.cssSelector("#tabs button[data-view=feed]")).click();
    // The follow's handler re-opened Ben's stream before it cleared the field: Ann's post now arrives live.
    ann.findElement(By.id("post-text")).sendKeys("first post from ann");
    ann.findElement(By.cssSelector("#post-form button")).click();
    waitFor("ann's post reaches ben's feed live", () ->
        !ben.findElements(By.xpath("//ol[@id='home']/li[contains(., 'first post from ann')]")).isEmpty());
    screenshot(ben, "feed-ben");
    assertEquals(1, ben.findElements(By.xpath("//ol[@id='home']/li[contains(., 'first post from ann')]")).size(),
        "shown once");

    // Wallets: each opens an account, Ann deposits and pays Ben; a retry with the same key moves no money again.
    for (var browser : java.util.List.of(ann, ben)) {
      browser.findElement(By.cssSelector("#tabs button[data-view=wallet]")).click();
      browser.findElement(By.cssSelector("#open-account button:not([type=button])")).click();
      waitFor("an account is listed", () -> !browser.findElements(By.cssSelector("#accounts tbody tr")).isEmpty());
    }
    ann.findElement(By.id("deposit-amount")).sendKeys("500");
    ann.findElement(By.cssSelector("#deposit-form button")).click();
    waitFor("ann's deposit shows", () -> text(ann, "#accounts tbody tr .balance").equals("500 EUR"));
    var benAccount = ben.findElement(By.cssSelector("#accounts tbody tr")).getAttribute("data-id");
    ann.findElement(By.id("transfer-to")).sendKeys(benAccount);
    ann.findElement(By.id("transfer-amount")).sendKeys("200");
    ann.findElement(By.cssSelector("#transfer-form button")).click();
    waitFor("the transfer completed", () -> text(ann, "#transfer-result").contains("COMPLETED"));
    waitFor("ann's balance is 300", () -> text(ann, "#accounts tbody tr .balance").equals("300 EUR"));
    ann.findElement(By.id("transfer-retry")).click();
    waitFor("the retry is a replay", () -> text(ann, "#transfer-result").contains("a replay"));
    assertEquals("300 EUR", text(ann, "#accounts tbody tr .balance"), "the retry moved no money");
    ben.findElement(By.id("refresh-accounts")).click();
    waitFor("ben's balance is 200", () -> {
      ben.findElement(By.id("refresh-accounts")).click();
      return text(ben, "#accounts tbody tr .balance").equals("200 EUR");
    });
    // The journal is a read model about a second behind: ask again until it has the transfer.
    waitFor("ann's journal lists the transfer", () -> {
      ann.findElement(By.cssSelector("#accounts tbody tr button")).click();
      return text(ann, "#journal tbody").contains("DEBIT");
    });
    screenshot(ann, "wallet-ann");

    // A hold: Ann's available money drops, the balance does not; voiding it gives the money back.
    var amount = ann.findElement(By.id("transfer-amount"));
    amount.clear();
    amount.sendKeys("50");
    ann.findElement(By.id("transfer-pending")).click();
    ann.findElement(By.cssSelector("#transfer-form button")).click();
    waitFor("the hold is placed", () -> "HELD".equals(ann.findElement(By.id("transfer-result"))
        .getAttribute("data-status")));
    waitFor("ann has 250 available", () -> text(ann, "#accounts tbody tr .available").equals("250"));
    assertEquals("300 EUR", text(ann, "#accounts tbody tr .balance"), "a hold moves no money");
    ann.findElement(By.id("transfer-void")).click();
    waitFor("the hold is voided", () -> "VOIDED".equals(ann.findElement(By.id("transfer-result"))
        .getAttribute("data-status")));
    waitFor("ann has 300 available again", () -> text(ann, "#accounts tbody tr .available").equals("300"));

    // Ben sends the 200 back: a reversal from the credit in his journal.
    waitFor("ben's journal offers to reverse the payment", () -> {
      ben.findElement(By.cssSelector("#accounts tbody tr button")).click();
      return !ben.findElements(By.cssSelector("#journal button.reverse")).isEmpty();
    });
    ben.findElement(By.cssSelector("#journal button.reverse")).click();
    waitFor("ben's balance is 0", () -> {
      ben.findElement(By.id("refresh-accounts")).click();
      return text(ben, "#accounts tbody tr .balance").equals("0 EUR");
    });
    waitFor("ann's balance is 500", () -> {
      ann.findElement(By.id("refresh-accounts")).click();
      return text(ann, "#accounts tbody tr .balance").equals("500 EUR");
    });
  }

  @Test
  void aRiderOnTheMapIsPickedUpByASimulatedDriver() throws Exception {
    var cara = browser();
    OPEN.put("cara", cara);
    try {
      signIn(cara, "cb-cara");
      cara.findElement(By.cssSelector("#tabs button[data-view=dispatch]")).click();
      waitFor("the map shows the cells around the center", () ->
          Integer.parseInt(cara.findElement(By.id("map")).getAttribute("data-cells")) == 37);
      // Six simulated drivers go online around the center and show on the map (from the node's cell index).
      var count = cara.findElement(By.id("simulate-count"));
      count.clear();
      count.sendKeys("6");
      cara.findElement(By.cssSelector("#simulate-form button:not([type=button])")).click();
      waitFor("six simulated drivers are available", () ->
          text(cara, "#simulate-status").equals("6 simulated drivers: 6 available"));
      waitFor("the map shows them", () ->
          Integer.parseInt(cara.findElement(By.id("map")).getAttribute("data-drivers")) == 6);
      // Cara picks up at the center of the map and requests a ride: a simulated driver takes the offer.
      new org.openqa.selenium.interactions.Actions(cara).moveToElement(cara.findElement(By.id("map"))).click()
          .perform();
      cara.findElement(By.cssSelector("#ride-form button")).click();
      waitFor("a simulated driver accepted the ride", () -> java.util.Set.of("accepted", "arrived", "started",
          "completed").contains(cara.findElement(By.id("ride-status")).getAttribute("data-status")));
      assertTrue(text(cara, "#ride-status").contains("(driver sim-cb-cara-"), text(cara, "#ride-status"));
      screenshot(cara, "dispatch-cara");
      // Cara cancels before the simulated drivers go: no ride is left in flight for the next test's node (rides are
      // remembered entities in the shared keyspace).
      cara.findElement(By.id("ride-cancel")).click();
      waitFor("the ride is cancelled", () -> "cancelled".equals(cara.findElement(By.id("ride-status"))
          .getAttribute("data-status")));
      cara.findElement(By.id("simulate-stop")).click();
    } finally {
      OPEN.remove("cara");
      cara.quit();
    }
  }

  @Test
  void anAdministratorSeesTheClusterInTheOpsView() throws Exception {
    var admin = browser();
    OPEN.put("admin", admin);
    try {
      signIn(admin, "admin");
      admin.findElement(By.cssSelector("#tabs button[data-view=ops]")).click();
      waitFor("the members table lists this node, up", () -> "1".equals(admin.findElement(By.id("ops"))
          .getAttribute("data-members")) && text(admin, "#ops-members tbody").contains("Up"));
      assertTrue(text(admin, "#ops-members tbody").contains("(this node)"), text(admin, "#ops-members tbody"));
      // The second poll turns the node's totals into rates.
      waitFor("answers per second shown", () -> text(admin, "#ops-node").contains("/s, of which 5xx"));
      // The ledger's invariant checker, run by the administrator: every check passes (other tests moved money).
      admin.findElement(By.id("ops-check")).click();
      waitFor("the checker answered", () -> admin.findElement(By.id("ops-checks")).getAttribute("data-passed")
          != null);
      assertEquals("true", admin.findElement(By.id("ops-checks")).getAttribute("data-passed"),
          text(admin, "#ops-checks"));
      assertTrue(text(admin, "#ops-checks").contains("PASS"), text(admin, "#ops-checks"));
      screenshot(admin, "ops-admin");
    } finally {
      OPEN.remove("admin");
      admin.quit();
    }
  }
}
