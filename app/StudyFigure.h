#pragma once
// A study summary as a figure (viz/StudyChart.h): panels for test accuracy and the metrics the study's
// checks compare, one bar per cell with its 95% interval and the seeds' values, and (in the files) the
// runs' sharpness against their generalization gap. Used by the command
// line (study.svg, study.png) and the app's Study page.

#include <string>

#include "session/StudySummary.h"
#include "viz/StudyChart.h"

namespace samscape {

// With `correlations`, a scatter panel per sharpness measure after the bars: every run's measure against
// its generalization gap, coloured by cell, Kendall's tau-b and its interval in the title
// (session/StudyCorrelation.h). The app's Study page draws those in its own tab and leaves them out.
viz::StudyChartData studyChartData(const StudySummary& summary, bool correlations = false);
// .svg or .png by extension; returns "" or the problem, naming the path.
std::string writeStudyFigure(const StudySummary& summary, const std::string& path);

}  // namespace samscape
