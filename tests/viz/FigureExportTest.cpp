#include "viz/FigureExport.h"

#include <QFile>
#include <QImage>
#include <QXmlStreamReader>

#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/TempDir.h"
#include "viz/LineChart.h"
#include "viz/RunColors.h"

namespace samscape::viz {
namespace {

QByteArray readAll(const std::string& path) {
  QFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::ReadOnly)) return {};
  return file.readAll();
}

void fill(LineChart& chart) {
  chart.setTitle("Test loss");
  chart.setAxisTitles("epoch", "loss");
  std::vector<double> xs, sgd, sam;
  for (int i = 1; i <= 20; ++i) {
    xs.push_back(i);
    sgd.push_back(2.0 * std::exp(-0.15 * i) + 0.05 * std::sin(i));
    sam.push_back(2.2 * std::exp(-0.12 * i));
  }
  chart.setSeries({{"sgd-cnn", runColor(1), xs, sgd}, {"sam-cnn", runColor(2), xs, sam}});
}

TEST(FigureExport, LineChartToPngHasContent) {
  test::TempDir dir;
  LineChart chart;
  chart.resize(640, 400);
  fill(chart);
  QString error;
  ASSERT_TRUE(chart.exportFigure(QString::fromStdString(dir.file("loss.png")), &error))
      << error.toStdString();
  const QByteArray bytes = readAll(dir.file("loss.png"));
  ASSERT_GE(bytes.size(), 8);
  EXPECT_EQ(bytes.left(8), QByteArray("\x89PNG\r\n\x1a\n", 8));
  QImage image;
  ASSERT_TRUE(image.loadFromData(bytes, "png"));
  EXPECT_EQ(image.size(), QSize(1280, 800));  // twice the widget
  // Opaque, and both series' colours appear somewhere (the curves were drawn).
  bool sgdColour = false, samColour = false;
  int white = 0;
  for (int y = 0; y < image.height(); y += 1) {
    for (int x = 0; x < image.width(); x += 1) {
      const QColor c = image.pixelColor(x, y);
      EXPECT_EQ(c.alpha(), 255);
      if (c == Qt::white) ++white;
      if (c.rgb() == runColor(1).rgb()) sgdColour = true;
      if (c.rgb() == runColor(2).rgb()) samColour = true;
    }
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_TRUE(sgdColour);
  EXPECT_TRUE(samColour);
  EXPECT_GT(white, image.width() * image.height() / 4);  // a white background, not black
}

TEST(FigureExport, LineChartToSvgIsVectorWithTheSeriesNames) {
  test::TempDir dir;
  LineChart chart;
  fill(chart);  // never shown: laid out for the export
  QString error;
  ASSERT_TRUE(chart.exportFigure(QString::fromStdString(dir.file("loss.SVG")), &error))
      << error.toStdString();
  const QByteArray bytes = readAll(dir.file("loss.SVG"));
  // Well-formed XML with an <svg> root, vector paths and no embedded raster.
  QXmlStreamReader xml(bytes);
  QString root;
  int paths = 0, images = 0;
  while (!xml.atEnd()) {
    if (xml.readNext() != QXmlStreamReader::StartElement) continue;
    if (root.isEmpty()) root = xml.name().toString();
    if (xml.name() == QLatin1String("path") || xml.name() == QLatin1String("polyline")) ++paths;
    if (xml.name() == QLatin1String("image")) ++images;
  }
  ASSERT_FALSE(xml.hasError()) << xml.errorString().toStdString();
  EXPECT_EQ(root, "svg");
  EXPECT_TRUE(bytes.contains("sgd-cnn"));
  EXPECT_TRUE(bytes.contains("sam-cnn"));
  EXPECT_TRUE(bytes.contains("epoch"));
  EXPECT_GT(paths, 0);
  EXPECT_EQ(images, 0);
}

TEST(FigureExport, LineChartToPdf) {
  test::TempDir dir;
  LineChart chart;
  fill(chart);
  QString error;
  ASSERT_TRUE(chart.exportFigure(QString::fromStdString(dir.file("loss.pdf")), &error))
      << error.toStdString();
  const QByteArray bytes = readAll(dir.file("loss.pdf"));
  EXPECT_TRUE(bytes.startsWith("%PDF-"));
  EXPECT_TRUE(bytes.trimmed().endsWith("%%EOF"));
  EXPECT_GT(bytes.size(), 1000);
}

TEST(FigureExport, CsvFileHoldsTheChartData) {
  test::TempDir dir;
  LineChart chart;
  fill(chart);
  QString error;
  ASSERT_TRUE(chart.exportCsv(QString::fromStdString(dir.file("loss.csv")), &error)) << error.toStdString();
  const QByteArray bytes = readAll(dir.file("loss.csv"));
  EXPECT_EQ(QString::fromUtf8(bytes), chart.csv());
  EXPECT_EQ(bytes.count('\n'), 41);  // header + 2 x 20 rows
}

TEST(FigureExport, UnknownFormatAndUnwritablePathsAreReportedWithThePath) {
  test::TempDir dir;
  LineChart chart;
  fill(chart);
  QString error;
  const QString gif = QString::fromStdString(dir.file("loss.gif"));
  EXPECT_FALSE(chart.exportFigure(gif, &error));
  EXPECT_TRUE(error.contains(gif)) << error.toStdString();
  EXPECT_TRUE(error.contains(".gif")) << error.toStdString();
  EXPECT_FALSE(QFile::exists(gif));

  const QString missing = QString::fromStdString(dir.file("no/such/dir/loss.png"));
  EXPECT_FALSE(chart.exportFigure(missing, &error));
  EXPECT_TRUE(error.contains(missing)) << error.toStdString();
  EXPECT_FALSE(writeTextFile(QString::fromStdString(dir.file("no/such/file.csv")), "x", &error));
  EXPECT_TRUE(error.contains("no/such/file.csv")) << error.toStdString();
  EXPECT_FALSE(exportWidget(nullptr, gif, &error));
}

TEST(FigureExport, FailedWriteKeepsThePreviousFile) {
  test::TempDir dir;
  const QString path = QString::fromStdString(dir.file("data.csv"));
  ASSERT_TRUE(writeTextFile(path, "old\n"));
  LineChart chart;
  fill(chart);
  // Exporting a figure to a name with a wrong extension fails before touching anything.
  EXPECT_FALSE(chart.exportFigure(path));
  EXPECT_EQ(readAll(dir.file("data.csv")), QByteArray("old\n"));
}

}  // namespace
}  // namespace samscape::viz
