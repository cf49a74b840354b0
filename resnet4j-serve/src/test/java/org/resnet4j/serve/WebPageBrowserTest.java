package org.resnet4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.io.json.Json;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Predictor;

/**
 * The web page in headless Chromium: it lists the model, takes a generated PNG through its file
 * input, and shows the same top-5 labels the predict endpoint answers. Needs Debian's chromium and
 * chromium-driver (.ci/run installs them); skipped, saying why, where they are absent.
 */
class WebPageBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium"), DRIVER = Path.of("/usr/bin/chromedriver");

    @TempDir
    Path dir;

    @Test
    void uploadsAnImageAndShowsTheTopFive() throws Exception {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(DRIVER)) {
            String why = "no " + (Files.isExecutable(CHROMIUM) ? DRIVER : CHROMIUM) + " (apt-get install chromium chromium-driver)";
            System.out.println("WebPageBrowserTest skipped: " + why);
            Assumptions.abort(why);
        }
        Init.manualSeed(6);
        Predictor p = new Predictor(Models.create("resnet8", ModelConfig.defaults(6)), InferenceServerTest.NORM, SyntheticShapes.CLASSES, 3, 8);
        try (InferenceServer s = InferenceServer.start(List.of(new ServedModel("shapes", p, new int[] {3, 32, 32})),
                InferenceServer.Options.defaults().withPort(0))) {
            Path png = dir.resolve("shape.png");
            Tensor img = new SyntheticShapes(1, 8, 32).get(0).image();
            BufferedImage bi = org.resnet4j.data.ImageDecoder.toImage(img, 1);
            ImageIO.write(bi, "png", png.toFile());
            String base = "http://127.0.0.1:" + s.port();
            // what the endpoint itself answers, to compare the page with
            HttpResponse<String> direct = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/v1/models/shapes/predict?top=5"))
                    .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofFile(png)).build(), HttpResponse.BodyHandlers.ofString());
            List<String> expected = ((List<?>) ((Map<?, ?>) Json.parse(direct.body())).get("top")).stream()
                    .map(t -> (String) ((Map<?, ?>) t).get("label")).toList();

            ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toString())
                    .addArguments("--headless=new", "--window-size=900,760", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--user-data-dir=" + dir.resolve("profile"));
            ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build();
            WebDriver browser = new ChromeDriver(service, options);
            try {
                browser.get(base + "/");
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
                wait.until(b -> !b.findElements(By.cssSelector("#model option")).isEmpty());
                assertTrue(browser.findElement(By.id("model")).getText().contains("shapes (6 classes)"));
                browser.findElement(By.id("file")).sendKeys(png.toString());
                wait.until(b -> b.findElements(By.cssSelector("#result li")).size() == 5);
                List<String> shown = browser.findElements(By.cssSelector("#result li .label")).stream().map(WebElement::getText).toList();
                assertEquals(expected, shown, "the page shows what the endpoint answers");
                assertTrue(browser.findElement(By.id("latency")).getText().contains("ms"), browser.findElement(By.id("latency")).getText());
                assertEquals("", browser.findElement(By.id("error")).getText());
                // the page as it looked, for docs/SERVING.md
                byte[] shot = ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(org.openqa.selenium.OutputType.BYTES);
                Files.createDirectories(Path.of("target"));
                Files.write(Path.of("target/serve-page.png"), shot);
            } finally {
                browser.quit();
            }
        }
    }
}
