#pragma once
// A study summary as a figure (viz/StudyChart.h): panels for test accuracy and the metrics the study's
// checks compare, one bar per cell with its 95% interval and the seeds' values. Used by the command
// line (study.svg, study.png) and the app's Study page.

#include <string>

#include "session/StudySummary.h"
#include "viz/StudyChart.h"

namespace samscape {

viz::StudyChartData studyChartData(const StudySummary& summary);
// .svg or .png by extension; returns "" or the problem, naming the path.
std::string writeStudyFigure(const StudySummary& summary, const std::string& path);

}  // namespace samscape
