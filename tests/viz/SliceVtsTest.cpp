// slice.vts, as analysis writes it (analysis/AnalysisFiles.cpp) and as LandscapeView::exportVts writes
// it, read back by VTK's own XML reader: the check that ParaView/VTK opens these files. No rendering,
// no display needed.
#include <vtkDataArray.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkStructuredGrid.h>
#include <vtkXMLStructuredGridReader.h>

#include <QFile>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "tests/support/TempDir.h"
#include "viz/LandscapeView.h"

namespace samscape::viz {
namespace {

SliceGrid sampleGrid() {
  SliceGrid g;
  g.xs = {-1.0, 0.0, 1.0};
  g.ys = {-0.5, 0.5};
  for (double y : g.ys) {
    for (double x : g.xs) {
      g.loss.push_back(x * x + 2 * y * y);
      g.accuracy.push_back(0.25 + 0.5 * x * x);
    }
  }
  g.pointsDone = g.pointsTotal = 6;
  g.level = 0;
  g.stride = 1;
  return g;
}

vtkSmartPointer<vtkStructuredGrid> readVts(const std::string& path) {
  vtkNew<vtkXMLStructuredGridReader> reader;
  if (!reader->CanReadFile(path.c_str())) return nullptr;
  reader->SetFileName(path.c_str());
  reader->Update();
  return reader->GetOutput();
}

void expectSample(vtkStructuredGrid* read, const SliceGrid& g) {
  ASSERT_NE(read, nullptr);
  int dims[3];
  read->GetDimensions(dims);
  EXPECT_EQ(dims[0], 3);
  EXPECT_EQ(dims[1], 2);
  EXPECT_EQ(dims[2], 1);
  ASSERT_EQ(read->GetNumberOfPoints(), 6);
  vtkDataArray* loss = read->GetPointData()->GetArray("loss");
  vtkDataArray* accuracy = read->GetPointData()->GetArray("accuracy");
  ASSERT_NE(loss, nullptr);
  ASSERT_NE(accuracy, nullptr);
  EXPECT_EQ(read->GetPointData()->GetScalars(), loss);  // colour by loss when opened
  for (vtkIdType i = 0; i < 6; ++i) {
    double p[3];
    read->GetPoint(i, p);
    const auto ix = static_cast<std::size_t>(i % 3);
    const auto iy = static_cast<std::size_t>(i / 3);
    EXPECT_DOUBLE_EQ(p[0], g.xs[ix]);  // x fastest, as SliceGrid::index
    EXPECT_DOUBLE_EQ(p[1], g.ys[iy]);
    EXPECT_DOUBLE_EQ(p[2], g.loss[static_cast<std::size_t>(i)]);
    EXPECT_DOUBLE_EQ(loss->GetTuple1(i), g.loss[static_cast<std::size_t>(i)]);
    EXPECT_DOUBLE_EQ(accuracy->GetTuple1(i), g.accuracy[static_cast<std::size_t>(i)]);
  }
}

TEST(SliceVts, AnalysisSliceFileOpensInVtk) {
  // Written here by hand in exactly the layout of analysis's sliceVts() (AnalysisFiles.cpp), which
  // cannot be linked without LibTorch; the numbers are sampleGrid()'s, printed with %.17g.
  const char* text = R"(<?xml version="1.0"?>
<VTKFile type="StructuredGrid" version="0.1" byte_order="LittleEndian">
  <StructuredGrid WholeExtent="0 2 0 1 0 0">
    <Piece Extent="0 2 0 1 0 0">
      <PointData Scalars="loss">
        <DataArray type="Float64" Name="loss" format="ascii">
          1.5 0.5 1.5
          1.5 0.5 1.5
        </DataArray>
        <DataArray type="Float64" Name="accuracy" format="ascii">
          0.75 0.25 0.75
          0.75 0.25 0.75
        </DataArray>
      </PointData>
      <Points>
        <DataArray type="Float64" Name="Points" NumberOfComponents="3" format="ascii">
          -1 -0.5 1.5
          0 -0.5 0.5
          1 -0.5 1.5
          -1 0.5 1.5
          0 0.5 0.5
          1 0.5 1.5
        </DataArray>
      </Points>
    </Piece>
  </StructuredGrid>
</VTKFile>
)";
  test::TempDir dir;
  std::ofstream(dir.file("slice.vts")) << text;
  expectSample(readVts(dir.file("slice.vts")), sampleGrid());
}

TEST(SliceVts, LandscapeViewExportsTheGridItShows) {
  test::TempDir dir;
  LandscapeView view;  // never shown: exporting the data needs no OpenGL
  const SliceGrid g = sampleGrid();
  view.setSurface(g);
  ASSERT_TRUE(view.hasSurface());
  QString error;
  ASSERT_TRUE(view.exportVts(QString::fromStdString(dir.file("view.vts")), &error)) << error.toStdString();
  expectSample(readVts(dir.file("view.vts")), g);
}

TEST(SliceVts, IncompleteGridIsRefusedWithThePath) {
  test::TempDir dir;
  LandscapeView view;
  SliceGrid g = sampleGrid();
  g.loss[1] = g.accuracy[1] = std::numeric_limits<double>::quiet_NaN();
  g.pointsDone = 5;
  view.setSurface(g);
  EXPECT_TRUE(view.hasSurface());  // drawn with its hole filled
  const QString path = QString::fromStdString(dir.file("partial.vts"));
  QString error;
  EXPECT_FALSE(view.exportVts(path, &error));
  EXPECT_TRUE(error.contains(path)) << error.toStdString();
  EXPECT_TRUE(error.contains("5 of 6")) << error.toStdString();
  EXPECT_FALSE(QFile::exists(path));

  LandscapeView empty;
  EXPECT_FALSE(empty.hasSurface());
  EXPECT_FALSE(empty.exportVts(path, &error));
}

TEST(SliceVts, ColourRangeIsTheGridsOwnUnlessShared) {
  LandscapeView view;
  view.setSurface(sampleGrid());
  EXPECT_DOUBLE_EQ(view.colorMin(), 0.5);
  EXPECT_DOUBLE_EQ(view.colorMax(), 1.5);
  view.setColorRange(0.0, 4.0);
  EXPECT_DOUBLE_EQ(view.colorMin(), 0.0);
  EXPECT_DOUBLE_EQ(view.colorMax(), 4.0);
  view.setColorRange(3.0, 1.0);  // ignored
  EXPECT_DOUBLE_EQ(view.colorMax(), 4.0);
  view.clearColorRange();
  EXPECT_DOUBLE_EQ(view.colorMax(), 1.5);
  view.clearSurface();
  EXPECT_FALSE(view.hasSurface());
}

}  // namespace
}  // namespace samscape::viz
